// The offline pattern search through the binding: on tiny-a with its own frames encoded (deterministic whatever the
// thread count, the file reads back through the TypeScript checks and the native loader alike, an interrupted
// search resumes to the same bytes), on planted synthetic q/k (the planted pattern is recovered), and refusals of
// bad candidates and of another search's checkpoint, with the JSON path.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { PatternName } from '../../app/contract/engine.js';
import { presetCandidates, shortPromptCostTarget } from '../../app/domain/pattern-candidates.js';
import { parsePatternFile } from '../../app/domain/pattern-file-check.js';
import { summarizePatternFile, summaryLines } from '../../app/domain/pattern-summary.js';
import {
  MmiError,
  Model,
  plantedQkv,
  searchPatterns,
  searchPatternsQk,
  type CalibrationPrompt,
  type QkPrompt,
  type SearchProgress,
  type Segment,
  type Video,
} from '../../native/index.js';
import { modelDir, readReference } from './model-fixture.js';

const fixture = 'tiny-a';

async function encodeReferenceVideo(model: Model): Promise<Video> {
  const ref = readReference(fixture);
  const [frames, height, width] = ref.shape('frames') as [number, number, number, number];
  const rgb = ref.u8('frames');
  const encoder = model.createEncoder(height, width);
  await encoder.push(rgb, frames);
  const video = await encoder.finish();
  encoder.dispose();
  return video;
}

async function rejection(p: Promise<unknown>): Promise<MmiError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(MmiError);
  return e as MmiError;
}

describe(`pattern search on ${fixture}`, () => {
  let model: Model;
  let single: Model;
  let video: Video;
  let dir: string;
  let prompts: CalibrationPrompt[];

  beforeAll(async () => {
    model = await Model.load(modelDir(fixture), { threads: 2 });
    single = await Model.load(modelDir(fixture), { threads: 1 });
    video = await encodeReferenceVideo(model);
    const ref = readReference(fixture);
    const ids = Int32Array.from(ref.i64('input_ids'));
    const positions = BigInt64Array.from(ref.i64('position_ids'), (p) => BigInt(p));
    // Two prompts over the same video: (prompt, layer) units span both, so resuming skips a whole prompt.
    prompts = [
      { name: 'reference prompt', ids, positions, videos: [video] },
      { name: 'reference prompt again', ids, positions, videos: [video] },
    ];
    dir = await mkdtemp(path.join(tmpdir(), 'mmi-search-'));
  });
  afterAll(async () => {
    video.dispose();
    model.dispose();
    single.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the same bytes twice and on another thread count; the file reads back through both loaders', async () => {
    const out = path.join(dir, 'first.json');
    const progress: SearchProgress[] = [];
    const text = await searchPatterns(model, prompts, {}, { out, onProgress: (p) => progress.push(p) });
    expect(await readFile(out, 'utf8')).toBe(text);
    expect(await searchPatterns(model, prompts)).toBe(text);
    expect(await searchPatterns(single, prompts)).toBe(text);

    const layers = model.info().textLayers;
    expect(progress.at(-1)).toMatchObject({ stage: 'done', done: 2 * layers, total: 2 * layers });
    const scoring = progress.filter((p) => p.stage === 'scoring' && p.done > 0);
    expect(scoring.map((p) => [p.prompt, p.layer])).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
    ]);

    const file = parsePatternFile(text, out);
    expect(file.model).toMatchObject({ family: 'qwen2_5_vl', layers, heads: model.info().heads });
    expect(file.calibration?.inputs.map((i) => i.name)).toEqual([
      'reference prompt',
      'reference prompt again',
    ]);
    expect(file.calibration?.inputs[0]?.video_tokens).toBe(video.info().tokens);
    const native = await model.loadPatternFile(out);
    expect(native.kinds(layers, model.info().heads)).toEqual(
      file.layers.flatMap((l) => l.heads.map((h) => h.pattern)),
    );
    native.dispose();
    console.log(`search on ${fixture} (2 prompts of ${prompts[0]!.ids.length} tokens), default candidates:`);
    for (const line of summaryLines(summarizePatternFile(file))) console.log(`  ${line}`);
  });

  it('resumes an interrupted search from its checkpoint to the same file', async () => {
    const expected = await searchPatterns(model, prompts);
    const checkpoint = path.join(dir, 'resume.ckpt');
    const controller = new AbortController();
    const e = await rejection(
      searchPatterns(
        model,
        prompts,
        {},
        {
          checkpoint,
          signal: controller.signal,
          onProgress: (p) => {
            if (p.done >= 4) controller.abort();
          },
        },
      ),
    );
    expect(e.code).toBe('MMI_CANCELLED');
    expect(existsSync(checkpoint)).toBe(true);
    const seen: SearchProgress[] = [];
    const resumed = await searchPatterns(model, prompts, {}, { checkpoint, onProgress: (p) => seen.push(p) });
    expect(resumed).toBe(expected);
    // The first prompt was complete: it is not pre-filled again.
    expect(seen[0]!.done).toBeGreaterThanOrEqual(4);
  });

  it('refuses bad candidates and another search’s checkpoint, naming what is wrong', async () => {
    const negative = await rejection(
      searchPatterns(model, prompts, {
        candidates: [{ pattern: 'block_sparse', budgets: { top_k_blocks: { count: -1 } } }],
      }),
    );
    expect(negative).toMatchObject({
      code: 'MMI_PATTERN_FILE_INVALID',
      kind: 'NegativeBudget',
      subject: 'candidates[0].budgets.top_k_blocks.count',
    });
    const unknown = await rejection(
      searchPatterns(model, prompts, { candidates: [{ pattern: 'diagonal', budgets: {} }] }),
    );
    expect(unknown).toMatchObject({ kind: 'UnknownPattern', subject: 'candidates[0].pattern' });

    const checkpoint = path.join(dir, 'other.ckpt');
    await searchPatterns(model, prompts.slice(0, 1), {}, { checkpoint });
    const other = await rejection(
      searchPatterns(model, prompts.slice(0, 1), { costTarget: 0.5 }, { checkpoint }),
    );
    expect(other).toMatchObject({ code: 'MMI_PATTERN_FILE_INVALID', kind: 'CheckpointInvalid' });
  });
});

// ---- planted synthetic q/k --------------------------------------------------------------------------------------

const kinds = [
  'a_shape',
  'vertical_slash',
  'block_sparse',
  'grid',
  'dense',
] as const satisfies readonly PatternName[];
const group = 2; // query heads per kv head
const dim = 64;
// text 64, video 14 patches of 8×8 tokens (period 64), text 64: 1024 tokens.
const layout: Segment[] = [
  { kind: 'text', tokens: 64 },
  { kind: 'video', t: 14, h: 8, w: 8 },
  { kind: 'text', tokens: 64 },
];
const tokens = 1024;

/** A small deterministic generator (mulberry32): uniforms in [0, 1) and Box–Muller normals. */
function generator(seed: number): { uniform: () => number; normal: () => number } {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    uniform,
    normal: () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform()),
  };
}

/** Block-sparse structure, which the core has no generator for: 64-token blocks fall into clusters and rows attend
 * the keys of their own cluster's blocks (a strong shared direction per cluster), over weak noise. */
function clusteredBlocks(seed: number): { q: Float32Array; k: Float32Array } {
  const { uniform, normal: noise } = generator(seed);
  const cluster = Array.from({ length: tokens / 64 }, () => Math.floor(uniform() * 6));
  const q = new Float32Array(group * tokens * dim);
  const k = new Float32Array(tokens * dim);
  for (let t = 0; t < tokens; t++) {
    const c = cluster[Math.floor(t / 64)]!;
    for (let d = 0; d < dim; d++) k[t * dim + d] = 0.3 * noise() + (d === c ? 3 : 0);
    for (let h = 0; h < group; h++) {
      for (let d = 0; d < dim; d++) q[(h * tokens + t) * dim + d] = 0.3 * noise() + (d === c ? 6 : 0);
    }
  }
  return { q, k };
}

async function plantedHead(kind: (typeof kinds)[number], variant: number) {
  const seed = 100 + 10 * variant + kinds.indexOf(kind);
  const base = { layout, headsQ: group, dim, seed };
  switch (kind) {
    case 'a_shape':
      return plantedQkv({
        ...base,
        kind: 'vertical_slash',
        columns: [0, 1, 2, 3],
        offsets: Array.from({ length: 24 + 8 * variant }, (_, o) => o),
      });
    case 'vertical_slash': {
      const columns: number[] = [];
      for (let c = 150 + 37 * variant; c < tokens; c += 97) columns.push(c);
      return plantedQkv({ ...base, kind: 'vertical_slash', columns, offsets: [0, 1, 2] });
    }
    case 'block_sparse':
      return clusteredBlocks(seed);
    case 'grid':
      return plantedQkv({ ...base, kind: 'grid', stride: 64, phase: 5 + 7 * variant });
    case 'dense': {
      // Every key equally likely: no sparse pattern keeps much.
      const { k } = await plantedQkv({ ...base, kind: 'vertical_slash', columns: [], offsets: [0] });
      return { q: new Float32Array(group * tokens * dim), k };
    }
  }
}

describe('pattern search on planted synthetic q/k', () => {
  it('recovers the planted pattern for at least 95% of heads', async () => {
    const layers = 3;
    const q: QkPrompt['q'] = [];
    const k: QkPrompt['k'] = [];
    for (let l = 0; l < layers; l++) {
      const parts = await Promise.all(kinds.map((kind) => plantedHead(kind, l)));
      const concat = (arrays: Float32Array[]): Float32Array => {
        const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
        arrays.reduce((at, a) => (out.set(a, at), at + a.length), 0);
        return out;
      };
      q.push({ dtype: 'f32', data: concat(parts.map((p) => p.q)), heads: kinds.length * group, tokens, dim });
      k.push({ dtype: 'f32', data: concat(parts.map((p) => p.k)), heads: kinds.length, tokens, dim });
    }
    const identity = {
      family: 'synthetic',
      layers,
      heads: kinds.length * group,
      kvHeads: kinds.length,
      headDim: dim,
      configSha256: 'a'.repeat(64),
    };
    const text = await searchPatternsQk(
      identity,
      [{ name: 'planted', layout, q, k }],
      { costTarget: shortPromptCostTarget, candidates: presetCandidates('short') ?? [] },
      { threads: 2 },
    );
    const file = parsePatternFile(text, 'planted');
    let right = 0;
    const wrong: string[] = [];
    for (const layer of file.layers) {
      for (const head of layer.heads) {
        const planted = kinds[Math.floor(head.head / group)]!;
        if (head.pattern === planted) right += 1;
        else wrong.push(`layer ${layer.layer} head ${head.head}: planted ${planted}, chose ${head.pattern}`);
      }
    }
    const total = layers * kinds.length * group;
    console.log(
      `planted q/k: recovered ${right} of ${total} heads${wrong.length ? `; ${wrong.join('; ')}` : ''}`,
    );
    for (const line of summaryLines(summarizePatternFile(file))) console.log(`  ${line}`);
    expect(right / total).toBeGreaterThanOrEqual(0.95);
  });
});
