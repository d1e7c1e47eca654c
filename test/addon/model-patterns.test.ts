// Pattern files through the binding: every sparse pattern at full budget reproduces the dense logits (and so
// transformers'), each head reports what ran, heatmaps come for the heads asked for and hold softmax mass, and
// files that do not fit the model are refused with the file and JSON path.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  defaultDenseBelowTokens,
  MmiError,
  Model,
  type Attention,
  type HeadHeatmap,
  type HeadReport,
  type PatternKind,
} from '../../native/index.js';
import { fixtureNames } from '../support/preprocess-tables.js';
import { modelDir, readReference, relativeError } from './model-fixture.js';

const all = { count: 1 << 20 };
const vs = { vertical: all, slash: all };
/** Budgets that keep every key: bands and lists longer than any prompt, every block, every grid phase. */
const fullBudgets: Record<Exclude<PatternKind, 'dense'>, Record<string, unknown>> = {
  a_shape: { sink_tokens: all, local_tokens: all },
  vertical_slash: vs,
  block_sparse: { top_k_blocks: { fraction: 1 } },
  grid: { sink_tokens: all, local_tokens: all, grid_lines: all },
  q_boundary: { text_rows: vs, video_rows: vs },
  two_d_boundary: { text_to_text: vs, text_to_video: vs, video_to_text: vs, video_to_video: vs },
};

interface Sizes {
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
}

function patternFile(fixture: string, sizes: Sizes, head: (layer: number, head: number) => object): string {
  const config = readFileSync(path.join(modelDir(fixture), 'config.json'));
  return JSON.stringify({
    format: 'mmi-pattern-file',
    schema_version: 1,
    model: {
      family: 'qwen2_5_vl',
      layers: sizes.layers,
      heads: sizes.heads,
      kv_heads: sizes.kvHeads,
      head_dim: sizes.headDim,
      config_sha256: createHash('sha256').update(config).digest('hex'),
    },
    layers: Array.from({ length: sizes.layers }, (_, l) => ({
      layer: l,
      heads: Array.from({ length: sizes.heads }, (_, h) => ({ head: h, ...head(l, h) })),
    })),
  });
}

describe.each(fixtureNames)('%s with pattern files', (fixture) => {
  const ref = readReference(fixture);
  const ids = Int32Array.from(ref.i64('input_ids'));
  const positions = BigInt64Array.from(ref.i64('position_ids'), (p) => BigInt(p));
  let model: Model;
  let sizes: Sizes;
  let dir: string;
  let features: Float32Array;

  beforeAll(async () => {
    model = await Model.load(modelDir(fixture), { threads: 2 });
    const info = model.info();
    sizes = { layers: info.textLayers, heads: info.heads, kvHeads: info.kvHeads, headDim: info.headDim };
    dir = await mkdtemp(path.join(tmpdir(), 'mmi-patterns-'));
    features = ref.f32('vision.features');
  });
  afterAll(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  // The reference prompt, optionally followed by `extra` text tokens (positions continuing after the video).
  async function prefill(attention: Attention, extra = 0) {
    const [frames, height, width] = ref.shape('frames') as [number, number, number, number];
    const encoder = model.createEncoder(height, width);
    await encoder.push(ref.u8('frames'), frames);
    const video = await encoder.finish();
    expect(relativeError(video.features(), features)).toBeLessThan(1e-4);
    const session = model.createSession();
    const heads: HeadReport[] = [];
    const maps: HeadHeatmap[] = [];
    const n = ids.length + extra;
    const next = Math.max(...ref.i64('position_ids')) + 1;
    const longIds = Int32Array.from({ length: n }, (_, i) => (i < ids.length ? ids[i]! : 20 + (i % 200)));
    const longPositions = new BigInt64Array(3 * n);
    for (let r = 0; r < 3; r++) {
      for (let i = 0; i < n; i++) {
        longPositions[r * n + i] =
          i < ids.length ? positions[r * ids.length + i]! : BigInt(next + i - ids.length);
      }
    }
    const out = await session.prefill(
      { ids: longIds, positions: longPositions, videos: [video], attention },
      { onHead: (r) => heads.push(r), onHeatmap: (h) => maps.push(h) },
    );
    session.dispose();
    video.dispose();
    encoder.dispose();
    return { logits: out.logits, heads, maps };
  }

  it('every sparse pattern at full budget reproduces the dense logits, head by head', async () => {
    const dense = await prefill({});
    const vocab = model.info().vocab;
    const lastRow = ref.f32('logits').subarray((ids.length - 1) * vocab, ids.length * vocab);
    expect(relativeError(dense.logits, lastRow)).toBeLessThan(1e-3);
    expect(dense.heads).toHaveLength(sizes.layers * sizes.heads);
    expect(new Set(dense.heads.map((h) => h.denseReason))).toEqual(new Set(['no_pattern_file']));

    for (const [kind, budgets] of Object.entries(fullBudgets)) {
      const file = path.join(dir, `${kind}.json`);
      await writeFile(
        file,
        patternFile(fixture, sizes, () => ({ pattern: kind, budgets })),
      );
      const patterns = await model.loadPatternFile(file);
      expect(new Set(patterns.kinds(sizes.layers, sizes.heads))).toEqual(new Set([kind]));
      const run = await prefill({ patterns, denseBelowTokens: 0 });
      expect(relativeError(run.logits, dense.logits), kind).toBeLessThan(1e-5);
      expect(relativeError(run.logits, lastRow), kind).toBeLessThan(1e-3);
      expect(run.heads).toHaveLength(sizes.layers * sizes.heads);
      for (const h of run.heads) {
        expect([h.planned, h.applied, h.denseReason, h.density], `${kind} ${h.layer}/${h.head}`).toEqual([
          kind,
          kind,
          'none',
          1,
        ]);
        expect(h.keys).toBe(ids.length);
      }
      patterns.dispose();
    }
  });

  it("a prompt shorter than the engine's default dense-below length runs dense unless told otherwise", async () => {
    expect(ids.length).toBeLessThan(defaultDenseBelowTokens());
    const file = path.join(dir, 'short.json');
    await writeFile(
      file,
      patternFile(fixture, sizes, () => ({ pattern: 'a_shape', budgets: fullBudgets.a_shape })),
    );
    const patterns = await model.loadPatternFile(file);
    const byDefault = await prefill({ patterns });
    expect(new Set(byDefault.heads.map((h) => `${h.applied}:${h.denseReason}`))).toEqual(
      new Set(['dense:short_prompt']),
    );
    const atLength = await prefill({ patterns, denseBelowTokens: ids.length });
    expect(new Set(atLength.heads.map((h) => `${h.applied}:${h.denseReason}`))).toEqual(
      new Set(['a_shape:none']),
    );
    patterns.dispose();
  });

  it('heatmaps of the heads asked for hold each sampled row’s softmax mass, causally', async () => {
    const file = path.join(dir, 'mixed.json');
    // Narrow A-shape heads on layer 0, full-budget grid heads elsewhere.
    await writeFile(
      file,
      patternFile(fixture, sizes, (layer) =>
        layer === 0
          ? { pattern: 'a_shape', budgets: { sink_tokens: { count: 1 }, local_tokens: { count: 1 } } }
          : { pattern: 'grid', budgets: fullBudgets.grid },
      ),
    );
    const patterns = await model.loadPatternFile(file);
    const wanted = [
      { layer: 0, head: 0 },
      { layer: sizes.layers - 1, head: sizes.heads - 1 },
    ];
    const grid = 16;
    // 300 more text tokens: several query blocks, so the narrow band drops keys.
    const extra = 300;
    const run = await prefill(
      { patterns, denseBelowTokens: 0, heatmaps: { heads: wanted, grid, samples: 32 } },
      extra,
    );
    expect(run.maps.map((m) => ({ layer: m.layer, head: m.head }))).toEqual(wanted);
    for (const m of run.maps) {
      expect(m.tokens).toBe(ids.length + extra);
      expect(m.mass).toHaveLength(grid * grid);
      for (let r = 0; r < grid; r++) {
        const row = m.mass.subarray(r * grid, (r + 1) * grid);
        const sum = row.reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(m.rowSamples[r]! > 0 ? 1 : 0, 5);
        // Causal: no mass in key bins wholly after the row bin.
        for (let k = r + 1; k < grid; k++) expect(row[k]).toBe(0);
      }
      for (const v of m.mask) expect(v >= 0 && v <= 1).toBe(true);
    }
    const [narrow, full] = run.maps as [HeadHeatmap, HeadHeatmap];
    expect(narrow.pattern).toBe('a_shape');
    expect(narrow.recall).toBeLessThan(1);
    expect(narrow.coverage).toBeLessThan(1);
    expect(full.pattern).toBe('grid');
    expect(full.recall).toBeCloseTo(1, 6);
    expect(full.coverage).toBe(1);
    expect(full.gridChoices.length).toBeGreaterThan(0);
    patterns.dispose();
  });

  it('refuses files that do not fit the model, naming the file and field', async () => {
    const wrong = path.join(dir, 'wrong.json');
    await writeFile(
      wrong,
      patternFile(fixture, { ...sizes, layers: sizes.layers + 1 }, () => ({ pattern: 'dense', budgets: {} })),
    );
    const e = await model.loadPatternFile(wrong).then(
      () => null,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(MmiError);
    expect((e as MmiError).code).toBe('MMI_PATTERN_FILE_INVALID');
    expect((e as MmiError).kind).toBe('WrongModel');
    expect((e as MmiError).file).toContain('wrong.json');

    const unknown = path.join(dir, 'unknown.json');
    await writeFile(
      unknown,
      patternFile(fixture, sizes, () => ({ pattern: 'diagonal', budgets: {} })),
    );
    const u = (await model.loadPatternFile(unknown).catch((err: unknown) => err)) as MmiError;
    expect([u.code, u.kind]).toEqual(['MMI_PATTERN_FILE_INVALID', 'UnknownPattern']);
    expect(u.subject).toMatch(/^layers\[0\]\.heads\[0\]/);

    const missing = (await model
      .loadPatternFile(path.join(dir, 'none.json'))
      .catch((err: unknown) => err)) as MmiError;
    expect(missing.code).toBe('MMI_NOT_FOUND');
  });
});
