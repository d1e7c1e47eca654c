// The attention core through the Node addon: results against float64 references written in TypeScript, the
// index exported and rendered independently, heatmaps, cancellation with AbortSignal, progress, a free event
// loop while the engine works, and typed errors for hostile arguments.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';

import {
  attentionDense,
  attentionSparse,
  checkLayout,
  createIndex,
  estimateIndex,
  heatmaps,
  MmiError,
  patternDefaults,
  synthetic,
  syntheticLayout,
  type Pattern,
  type Segment,
  type Tensor,
} from '../../native/index.js';
import {
  attentionF64,
  causalKeys,
  randomTensor,
  relativeError,
  renderIndex,
  softmaxRow,
  toBf16,
} from './reference.js';

/** Bitwise equality of two typed arrays (deep equality of large arrays is slow in the test runner). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

async function rejection(promise: Promise<unknown>): Promise<MmiError> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MmiError);
  return error as MmiError;
}

const layout: Segment[] = [
  { kind: 'text', tokens: 40 },
  { kind: 'video', t: 4, h: 6, w: 8 },
  { kind: 'text', tokens: 30 },
];
const n = 262;

describe('dense attention', () => {
  it('matches float64 in fp32 and bf16 with GQA', async () => {
    const q = randomTensor(4, 70, 64, 1);
    const k = randomTensor(1, 70, 64, 2);
    const v = randomTensor(1, 70, 64, 3);
    const ref = attentionF64(q, k, v, causalKeys);
    expect(relativeError(await attentionDense(q, k, v), ref)).toBeLessThan(1e-5);
    const [qb, kb, vb] = [toBf16(q), toBf16(k), toBf16(v)];
    expect(
      relativeError(await attentionDense(qb, kb, vb), attentionF64(qb, kb, vb, causalKeys)),
    ).toBeLessThan(1e-5);
  });

  it('attends within variable-length segments without the causal mask, into a caller array', async () => {
    const q = randomTensor(2, 90, 80, 4);
    const k = randomTensor(2, 90, 80, 5);
    const v = randomTensor(2, 90, 80, 6);
    const segments = [0, 30, 31, 90];
    const segmentKeys = (_h: number, r: number): number[] => {
      const s = segments.findIndex((b, i) => r >= b && r < segments[i + 1]!);
      return Array.from({ length: segments[s + 1]! - segments[s]! }, (_, i) => segments[s]! + i);
    };
    const out = new Float32Array(2 * 90 * 80);
    const result = await attentionDense(q, k, v, { causal: false, segments, out });
    expect(result).toBe(out);
    expect(relativeError(out, attentionF64(q, k, v, segmentKeys))).toBeLessThan(1e-5);
  });
});

describe('dense attention on a chunk of queries', () => {
  it('equals those rows of the full result', async () => {
    const q = randomTensor(2, 120, 64, 12);
    const k = randomTensor(2, 120, 64, 13);
    const full = await attentionDense(q, k, k);
    const chunk = { ...q, tokens: 40, data: new Float32Array(2 * 40 * 64) };
    for (let h = 0; h < 2; h++)
      chunk.data.set(q.data.subarray((h * 120 + 80) * 64, (h * 120 + 120) * 64), h * 40 * 64);
    const out = await attentionDense(chunk, k, k, { queryOffset: 80 });
    let diff = 0;
    for (let h = 0; h < 2; h++) {
      for (let i = 0; i < 40 * 64; i++)
        diff = Math.max(diff, Math.abs(out[h * 40 * 64 + i]! - full[(h * 120 + 80) * 64 + i]!));
    }
    expect(diff).toBeLessThan(1e-6);
    expect((await rejection(attentionDense(chunk, k, k, { queryOffset: 81 }))).code).toBe(
      'MMI_INVALID_ARGUMENT',
    );
  });
});

describe('sparse patterns', () => {
  const small: Record<string, Pattern> = {
    a_shape: { kind: 'a_shape', sinkTokens: 16, localTokens: 48 },
    vertical_slash: { kind: 'vertical_slash', verticalSlash: { vertical: 40, slash: 110 } },
    block_sparse: { kind: 'block_sparse', topKBlocks: 2 },
    grid: { kind: 'grid', sinkTokens: 16, localTokens: 48, gridLines: 2 },
    q_boundary: {
      kind: 'q_boundary',
      textRows: { vertical: 40, slash: 110 },
      videoRows: { vertical: 40, slash: 110 },
    },
    two_d_boundary: {
      kind: 'two_d_boundary',
      textToText: { vertical: 35, slash: 105 },
      textToVideo: { vertical: 35, slash: 105 },
      videoToText: { vertical: 35, slash: 105 },
      videoToVideo: { vertical: 35, slash: 105 },
    },
  };

  it.each(Object.keys(small))('%s computes exactly the softmax over its exported mask', async (name) => {
    const { q, k, v } = await synthetic({ layout, headsQ: 2, headsKv: 1, dim: 64, seed: 11 });
    const index = await estimateIndex(q, k, { layout, pattern: small[name]! });
    expect(index.heads).toBe(2);
    expect(index.tokens).toBe(n);
    const rendered = [renderIndex(index.head(0)), renderIndex(index.head(1))];
    const density = await index.density(0);
    const kept = rendered[0]!.reduce((s, keys) => s + keys.length, 0);
    expect(density.computed).toBe(kept);
    expect(density.total).toBe((n * (n + 1)) / 2);
    expect(density.value).toBeLessThan(1);
    const out = await attentionSparse(q, k, v, index);
    const ref = attentionF64(q, k, v, (h, r) => rendered[h]![r]!);
    expect(relativeError(out, ref)).toBeLessThan(1e-5);
    if (name === 'grid') {
      const [choice] = index.grid(0);
      expect(choice).toMatchObject({ start: 40, length: 192, prior: 48 });
      expect(index.head(0).rowPerm).not.toBeNull();
    }
  });

  it('at full budget equals dense attention', async () => {
    const { q, k, v } = await synthetic({ layout, headsQ: 4, headsKv: 1, dim: 64, seed: 2 });
    const dense = attentionF64(q, k, v, causalKeys);
    for (const pattern of [
      { kind: 'vertical_slash', verticalSlash: { vertical: n, slash: 2 * n } },
      { kind: 'grid', sinkTokens: n },
      { kind: 'block_sparse', topKBlocks: 5 },
    ] satisfies Pattern[]) {
      const index = await estimateIndex(q, k, { layout, pattern });
      expect((await index.density(3)).value).toBe(1);
      expect(relativeError(await attentionSparse(q, k, v, index), dense)).toBeLessThan(1e-5);
    }
  });

  it('re-creates an index from its exported heads', async () => {
    const { q, k, v } = await synthetic({ layout, headsQ: 2, headsKv: 2, dim: 64, seed: 5 });
    const index = await estimateIndex(q, k, { layout, pattern: [small.grid!, small.two_d_boundary!] });
    const copy = await createIndex([index.head(0), index.head(1)]);
    expect(sameBytes(await attentionSparse(q, k, v, copy), await attentionSparse(q, k, v, index))).toBe(true);
    index.dispose();
    expect(() => index.head(0)).toThrow(MmiError);
    expect((await rejection(attentionSparse(q, k, v, index))).code).toBe('MMI_INVALID_ARGUMENT');
  });
});

describe('heatmaps', () => {
  it('pool exact softmax rows in both orders, with recall and coverage', async () => {
    const { q, k } = await synthetic({ layout, headsQ: 2, headsKv: 1, dim: 64, seed: 8 });
    const index = await estimateIndex(q, k, {
      layout,
      pattern: { kind: 'grid', sinkTokens: 8, localTokens: 32 },
    });
    const [map] = await heatmaps(q, k, index, [1], { samples: 24, grid: 8 });
    expect(map!.head).toBe(1);
    expect(map!.rows).toHaveLength(24);
    expect(map!.rows[0]).toBe(0);
    expect(map!.rows[23]).toBe(n - 1);
    for (const [mass, counts] of [
      [map!.mass, map!.rowSamples],
      [map!.massPermuted, map!.rowSamplesPermuted],
    ] as const) {
      let total = 0;
      for (let i = 0; i < 64; i++) total += mass[i]! * counts[Math.floor(i / 8)]!;
      expect(total).toBeCloseTo(24, 4);
    }
    // Recall: the sampled rows' float64 softmax mass on the keys the exported mask keeps.
    const keep = renderIndex(index.head(1));
    let recall = 0;
    for (const r of map!.rows) {
      const keys = causalKeys(1, r);
      const w = softmaxRow(q, k, 1, 0, r, keys);
      const kept = new Set(keep[r]);
      keys.forEach((key, j) => (recall += kept.has(key) ? w[j]! : 0));
    }
    expect(map!.recall).toBeCloseTo(recall / 24, 9);
    expect(map!.coverage).toBeGreaterThan(0);
    expect(map!.coverage).toBeLessThan(1);
  });
});

describe('jobs', () => {
  it('report progress in order, ending at the total', async () => {
    const q = randomTensor(3, 200, 64, 7);
    const k = randomTensor(3, 200, 64, 8);
    const steps: [number, number][] = [];
    await attentionDense(q, k, k, { threads: 1, onProgress: (done, total) => steps.push([done, total]) });
    expect(steps.at(-1)).toEqual([12, 12]);
    for (let i = 1; i < steps.length; i++) expect(steps[i]![0]).toBeGreaterThan(steps[i - 1]![0]);
  });

  it('cancel through an AbortSignal while the event loop keeps running', async () => {
    // Large enough to outlast many event-loop turns: 8 heads of 8K tokens.
    const q = randomTensor(8, 8192, 64, 9);
    const k = randomTensor(1, 8192, 64, 10);
    const controller = new AbortController();
    const pending = attentionDense(q, k, k, { signal: controller.signal });
    await nextTurn(); // the call returned and the loop turns while the engine computes
    controller.abort();
    expect((await rejection(pending)).code).toBe('MMI_CANCELLED');
    const before = new AbortController();
    before.abort();
    expect((await rejection(attentionDense(q, k, k, { signal: before.signal }))).code).toBe('MMI_CANCELLED');
  });

  it('reject with the error an onProgress callback threw', async () => {
    const q = randomTensor(2, 300, 64, 1);
    const boom = new Error('progress consumer failed');
    await expect(
      attentionDense(q, q, q, {
        onProgress: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
  });

  it('synthetic data do not depend on the thread count', async () => {
    const spec = { layout: syntheticLayout(1200, 6, 8), headsQ: 4, headsKv: 2, dim: 80, seed: 77 };
    const a = await synthetic(spec, { threads: 1 });
    const b = await synthetic(spec);
    expect(
      sameBytes(a.q.data, b.q.data) && sameBytes(a.k.data, b.k.data) && sameBytes(a.v.data, b.v.data),
    ).toBe(true);
    expect(a.q.tokens).toBe(1200);
  });
});

describe('hostile arguments', () => {
  const q = randomTensor(2, 64, 64, 3);
  const k = randomTensor(1, 64, 64, 4);

  it('reject with typed errors, never crash', async () => {
    const cases: [string, () => Promise<unknown>, string][] = [
      [
        'wrong array type',
        () => attentionDense({ ...q, data: new Float64Array(8) } as unknown as Tensor, k, k),
        'data',
      ],
      [
        'bf16 in a Float32Array',
        () => attentionDense({ ...q, dtype: 'bf16' } as unknown as Tensor, k, k),
        'Uint16Array',
      ],
      ['length mismatch', () => attentionDense({ ...q, tokens: 63 }, k, k), 'holds'],
      ['no tokens', () => attentionDense({ ...q, tokens: 0, data: new Float32Array(0) }, k, k), 'tokens'],
      [
        'heads not a multiple',
        () => attentionDense(randomTensor(3, 64, 64, 1), randomTensor(2, 64, 64, 1), k),
        'kv',
      ],
      ['fractional dim', () => attentionDense({ ...q, dim: 63.5 }, k, k), 'integer'],
      [
        'bad segments',
        () => attentionDense(q, k, k, { causal: false, segments: [0, 50, 40, 64] }),
        'ascending',
      ],
      ['short out', () => attentionDense(q, k, k, { out: new Float32Array(5) }), 'out holds'],
      ['out is q', () => attentionDense(q, k, k, { out: q.data }), 'overlaps'],
      ['bad layout total', () => estimateIndex(q, k, { layout, pattern: { kind: 'grid' } }), 'covers'],
      [
        'unknown pattern',
        () => estimateIndex(q, k, { pattern: { kind: 'diagonal' } as unknown as Pattern }),
        'kind',
      ],
      [
        'negative budget',
        () => estimateIndex(q, k, { pattern: { kind: 'a_shape', sinkTokens: -1 } }),
        'sink_tokens',
      ],
      ['not an index', () => attentionSparse(q, k, k, {} as never), 'index'],
      ['empty layout', () => estimateIndex(q, k, { layout: [], pattern: { kind: 'grid' } }), 'no segments'],
    ];
    for (const [what, start, message] of cases) {
      const error = await rejection(start());
      expect(error.code, what).toBe('MMI_INVALID_ARGUMENT');
      expect(error.message, what).toContain(message);
    }
  });

  it('reject NaN and Inf inputs', async () => {
    const poisoned = randomTensor(2, 64, 64, 3);
    poisoned.data[100] = Number.NaN;
    expect((await rejection(attentionDense(poisoned, k, k))).code).toBe('MMI_NON_FINITE');
    poisoned.data[100] = Number.POSITIVE_INFINITY;
    expect((await rejection(estimateIndex(poisoned, k, { pattern: { kind: 'vertical_slash' } }))).code).toBe(
      'MMI_NON_FINITE',
    );
  });

  it('check layouts and index imports', async () => {
    expect(() => checkLayout(layout, n)).not.toThrow();
    expect(() => checkLayout([{ kind: 'video', t: 2, h: 0, w: 3 }])).toThrow(
      /segment 0 \(video\): h must be positive/,
    );
    expect(() => checkLayout([{ kind: 'audio' } as unknown as Segment])).toThrow(MmiError);
    expect(() => checkLayout([], 0)).toThrow(/no segments/);
    expect(patternDefaults('vertical_slash').verticalSlash).toEqual({ vertical: 1000, slash: 6096 });
    const index = await estimateIndex(q, k, { pattern: { kind: 'a_shape' } });
    expect((await rejection(heatmaps(q, k, index, [2]))).message).toContain('heads[0]');
    expect((await rejection(heatmaps(q, k, index, [0], { grid: 0 }))).message).toContain('grid');
    const bad = {
      tokens: 64,
      blockOffsets: new BigInt64Array([0n, 1n]),
      blockIds: new Int32Array([3]),
      columnOffsets: new BigInt64Array([0n, 0n]),
      columnIds: new Int32Array(0),
      rowPerm: null,
      colPerm: null,
    };
    expect((await rejection(createIndex([bad]))).message).toContain('out of range');
    expect((await rejection(createIndex([{ ...bad, blockIds: new Int32Array(2) }]))).message).toContain(
      'blockIds',
    );
  });
});
