// Where the engine computes, through the binding: models load on the GPU when one is usable and on the CPU
// otherwise, 'cpu' and MMI_DEVICE=cpu keep them on the CPU, 'gpu' says why it cannot; the attention calls follow
// the same choice. On a GPU machine the model's answer on the GPU matches the CPU within the runtime's bf16 tolerance
// and the GPU backend's refusals (sparse heads its kernels cannot run, heatmaps, memory) reach JS as typed errors.
// Cases that need a GPU, or its absence, are skipped here with the reason printed.
import path from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import {
  attentionDense,
  attentionSparse,
  backendInfo,
  estimateIndex,
  heatmaps,
  MmiError,
  Model,
  synthetic,
  type Session,
  type Tensor,
} from '../../native/index.js';
import { fixturesDir } from '../support/preprocess-tables.js';
import { modelDir, readReference, relativeError } from './model-fixture.js';

const native = backendInfo();
const modelGpu = native.gpuUsable;
const anyGpu = native.gpuCount > 0;
const why = `(${native.detail})`;
if (!modelGpu) console.log(`device.test: the model-on-GPU cases are skipped: no usable GPU here ${why}`);
if (modelGpu) console.log('device.test: the no-GPU cases are skipped: this machine has a usable GPU');

const tinyA = modelDir('tiny-a');
const tinyAPatterns = path.join(fixturesDir, '..', 'patterns', 'tiny-a.json');
const saved = process.env.MMI_DEVICE;
afterEach(() => {
  if (saved === undefined) delete process.env.MMI_DEVICE;
  else process.env.MMI_DEVICE = saved;
});

async function rejection(promise: Promise<unknown>): Promise<MmiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MmiError);
  return error as MmiError;
}

function thrown(f: () => unknown): MmiError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(MmiError);
    return e as MmiError;
  }
  throw new Error('expected a throw');
}

describe('the device choice', () => {
  it('auto picks the GPU exactly when the model runtime can use one, and says so', async () => {
    delete process.env.MMI_DEVICE;
    const info = backendInfo();
    expect(info.autoDevice).toBe(info.gpuUsable ? 'gpu' : 'cpu');
    if (info.gpuUsable) expect(info.gpuCount).toBeGreaterThan(0);
    expect(info.detail).toContain(info.gpuUsable ? 'models run on the GPU' : 'models run on the CPU');
    const model = await Model.load(tinyA, { threads: 1 });
    try {
      expect(model.info().device).toBe(info.autoDevice);
      expect(model.info().backend).toMatch(info.gpuUsable ? /^cuda: / : /^cpu \(1 threads\)/);
    } finally {
      model.dispose();
    }
  });

  it("'cpu' and MMI_DEVICE=cpu keep models on the CPU", async () => {
    const pinned = await Model.load(tinyA, { threads: 1, device: 'cpu' });
    expect(pinned.info()).toMatchObject({ device: 'cpu' });
    expect(pinned.info().backend).toMatch(/^cpu /);
    pinned.dispose();

    process.env.MMI_DEVICE = 'CPU';
    const info = backendInfo();
    expect(info.autoDevice).toBe('cpu');
    expect(info.detail).toContain('MMI_DEVICE=cpu');
    const model = await Model.load(tinyA, { threads: 1 });
    expect(model.info().device).toBe('cpu');
    model.dispose();
  });

  it('a device it does not know is a typed error naming it', async () => {
    process.env.MMI_DEVICE = 'tpu';
    const e = thrown(() => backendInfo());
    expect(e.code).toBe('MMI_INVALID_ARGUMENT');
    expect(e.subject).toBe('MMI_DEVICE');
    expect(e.message).toMatch(/cpu, gpu or auto, got 'tpu'/);
    expect((await rejection(Model.load(tinyA))).subject).toBe('MMI_DEVICE');
    delete process.env.MMI_DEVICE;
    const bad = await rejection(Model.load(tinyA, { device: 'tpu' as 'gpu' }));
    expect(bad.code).toBe('MMI_INVALID_ARGUMENT');
    expect(bad.message).toMatch(/device/);
  });

  it.skipIf(modelGpu)("without a usable GPU, 'gpu' and MMI_DEVICE=gpu say why", async () => {
    const e = await rejection(Model.load(tinyA, { device: 'gpu' }));
    expect(e.code).toBe('MMI_DEVICE_UNAVAILABLE');
    expect(e.message).toMatch(/GPU|CUDA/);
    process.env.MMI_DEVICE = 'gpu';
    expect(backendInfo().autoDevice).toBe('gpu');
    expect((await rejection(Model.load(tinyA))).code).toBe('MMI_DEVICE_UNAVAILABLE');
  });
});

describe('the attention calls', () => {
  const layout = [
    { kind: 'text' as const, tokens: 70 },
    { kind: 'video' as const, t: 4, h: 6, w: 8 },
    { kind: 'text' as const, tokens: 37 },
  ];
  let q: Tensor, k: Tensor, v: Tensor;
  beforeAll(async () => {
    const x = await synthetic({ layout, headsQ: 4, headsKv: 2, dim: 64, seed: 5 });
    // bf16 by truncation: any bf16 values will do.
    const bf16 = (t: Tensor): Tensor => ({
      ...t,
      dtype: 'bf16',
      data: Uint16Array.from(new Uint32Array((t.data as Float32Array).buffer), (u) => u >>> 16),
    });
    q = bf16(x.q);
    k = bf16(x.k);
    v = bf16(x.v);
  });

  it.skipIf(anyGpu)("without a GPU, 'gpu' is refused and 'auto' computes on the CPU", async () => {
    const e = await rejection(attentionDense(q, k, v, { device: 'gpu' }));
    expect(e.code).toBe('MMI_DEVICE_UNAVAILABLE');
    const auto = await attentionDense(q, k, v);
    expect(await attentionDense(q, k, v, { device: 'cpu' })).toEqual(auto);
  });

  it.skipIf(!anyGpu)('on the GPU: dense, sparse and heatmaps agree with the CPU', async () => {
    const cpuDense = await attentionDense(q, k, v, { device: 'cpu' });
    expect(relativeError(await attentionDense(q, k, v, { device: 'gpu' }), cpuDense)).toBeLessThan(1e-2);
    const index = await estimateIndex(q, k, {
      layout,
      pattern: { kind: 'grid', sinkTokens: 16, localTokens: 64, gridLines: 4 },
    });
    const cpuSparse = await attentionSparse(q, k, v, index, { device: 'cpu' });
    expect(relativeError(await attentionSparse(q, k, v, index, { device: 'auto' }), cpuSparse)).toBeLessThan(
      1e-2,
    );
    const options = { grid: 16, samples: 24 };
    const [cpuMap] = await heatmaps(q, k, index, [1], { ...options, device: 'cpu' });
    const [gpuMap] = await heatmaps(q, k, index, [1], { ...options, device: 'gpu' });
    expect(gpuMap!.mask).toEqual(cpuMap!.mask);
    expect(gpuMap!.maskPermuted).toEqual(cpuMap!.maskPermuted);
    expect(gpuMap!.coverage).toBe(cpuMap!.coverage);
    expect(relativeError(gpuMap!.mass, cpuMap!.mass)).toBeLessThan(1e-4);
    expect(Math.abs(gpuMap!.recall - cpuMap!.recall)).toBeLessThan(1e-4);
    // What the GPU kernels do not take: the CPU under 'auto', a typed refusal under 'gpu'.
    const open = await attentionDense(q, k, v, { causal: false });
    expect(open).toEqual(await attentionDense(q, k, v, { causal: false, device: 'cpu' }));
    const e = await rejection(attentionDense(q, k, v, { causal: false, device: 'gpu' }));
    expect(e.code).toBe('MMI_INVALID_ARGUMENT');
    expect(e.message).toMatch(/causal/);
  });
});

describe.skipIf(!modelGpu)('tiny-a on the GPU', () => {
  const ref = readReference('tiny-a');
  let gpu: Model, cpu: Model;
  beforeAll(async () => {
    delete process.env.MMI_DEVICE;
    gpu = await Model.load(tinyA, { device: 'gpu' });
    cpu = await Model.load(tinyA, { device: 'cpu', threads: 2 });
  });

  async function prompt(model: Model): Promise<{ session: Session; logits: Float32Array }> {
    const [frames, height, width] = ref.shape('frames') as [number, number, number, number];
    const encoder = model.createEncoder(height, width);
    await encoder.push(ref.u8('frames'), frames);
    const video = await encoder.finish();
    encoder.dispose();
    const session = model.createSession();
    const { logits } = await session.prefill({
      ids: Int32Array.from(ref.i64('input_ids')),
      positions: BigInt64Array.from(ref.i64('position_ids'), BigInt),
      videos: [video],
    });
    video.dispose();
    return { session, logits };
  }

  function top2(l: Float32Array): [number, number] {
    let a = 0;
    let b = 1;
    if (l[b]! > l[a]!) [a, b] = [b, a];
    for (let i = 2; i < l.length; i++) {
      if (l[i]! > l[a]!) [a, b] = [i, a];
      else if (l[i]! > l[b]!) b = i;
    }
    return [a, b];
  }

  it('answers as the CPU does within the bf16 tolerance: logits, and greedy tokens where the logits are clear', async () => {
    expect(gpu.info().device).toBe('gpu');
    expect(gpu.info().backend).toMatch(/^cuda: /);
    let g = await prompt(gpu);
    let c = await prompt(cpu);
    expect(relativeError(g.logits, c.logits)).toBeLessThan(3e-2);
    // Teacher-forced on the CPU's choice, so one close call does not derail the rest.
    let clear = 0;
    for (let step = 0; step < 16; step++) {
      let err = 0;
      for (let i = 0; i < c.logits.length; i++) err = Math.max(err, Math.abs(g.logits[i]! - c.logits[i]!));
      const [best, second] = top2(c.logits);
      if (c.logits[best]! - c.logits[second]! > 2 * err) {
        clear++;
        expect(top2(g.logits)[0]).toBe(best);
      }
      const ids = Int32Array.from([best]);
      g = { session: g.session, logits: (await g.session.prefill({ ids })).logits };
      c = { session: c.session, logits: (await c.session.prefill({ ids })).logits };
    }
    console.log(`device.test: ${clear} of 16 greedy steps had clear logits on tiny-a`);
    expect(clear).toBeGreaterThan(0);
    g.session.dispose();
    c.session.dispose();
  });

  it('refuses what the GPU backend cannot do with typed errors that say why', async () => {
    const file = await gpu.loadPatternFile(tinyAPatterns);
    const session = gpu.createSession();
    const ids = Int32Array.from([1, 2, 3, 4]);
    const positions = BigInt64Array.from([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3], BigInt);
    // tiny-a's sparse heads have head dim 16; the GPU's sparse kernels take 64, 80 and 128.
    const sparse = await rejection(
      session.prefill({ ids, positions, attention: { patterns: file, denseBelowTokens: 0 } }),
    );
    expect(sparse.code).toBe('MMI_INVALID_ARGUMENT');
    expect(sparse.message).toMatch(/head dim/);
    const maps = await rejection(
      session.prefill({ ids, positions, attention: { heatmaps: { heads: [{ layer: 0, head: 0 }] } } }),
    );
    expect(maps.code).toBe('MMI_INVALID_ARGUMENT');
    expect(maps.message).toMatch(/CPU/);
    // Dense with reports: every head dense, reported after the pre-fill.
    const reports: string[] = [];
    await session.prefill(
      { ids, positions, attention: { patterns: file } },
      { onHead: (r) => reports.push(`${r.layer}.${r.head}:${r.applied}:${r.denseReason}`) },
    );
    expect(reports).toHaveLength(gpu.info().textLayers * gpu.info().heads);
    expect(reports.every((r) => /:dense:(short_prompt|pattern_is_dense)$/.test(r))).toBe(true);
    session.dispose();
    file.dispose();
    const oom = thrown(() => gpu.createSession(2 ** 30));
    expect(oom.code).toBe('MMI_OUT_OF_MEMORY');
    expect(oom.message).toMatch(/GiB|bytes/);
  });
});
