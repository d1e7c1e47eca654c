// Where the engine host computes: the status says where models run ('auto': the GPU when usable), each answer says
// where it ran, MMI_DEVICE=cpu in the engine's environment keeps everything on the CPU and an unknown MMI_DEVICE is
// a typed error; the embedded demo model always runs on the CPU (its heatmaps and head-dim-16 sparse heads need it).
// On a GPU machine a chosen model answers on the GPU and heatmaps are refused before the video is read; without one
// that case is skipped with the reason printed.
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { backendInfo } from '../../../native/index.js';
import { createApi, failure, tinyA, type Api } from './support.js';

const video = path.join(tinyA, '..', '..', '..', 'demo', 'testsrc2-4s.mp4');
const native = backendInfo();
if (!native.gpuUsable) {
  console.log(`engine-device.test: the GPU case is skipped: no usable GPU here (${native.detail})`);
}

const saved = process.env.MMI_DEVICE;
let api: Api | null = null;
afterEach(async () => {
  await api?.close();
  api = null;
  if (saved === undefined) delete process.env.MMI_DEVICE;
  else process.env.MMI_DEVICE = saved;
});

async function ask(a: Api, params: { heatmaps?: { heads: { layer: number; head: number }[] } } = {}) {
  const started = await a.call('engine.ask', {
    question: 'What moves?',
    generation: { maxTokens: 3 },
    ...params,
  });
  return a.outcome(started.jobId);
}

describe('the engine host says where it computes', () => {
  it("reports where 'auto' runs models; the embedded model and a chosen one answer where they ran", async () => {
    delete process.env.MMI_DEVICE;
    api = await createApi();
    await api.call('model.current', {}); // starts the engine host
    const status = await api.call('engine.status', {});
    expect(status.backend).toMatchObject({ device: native.autoDevice, gpus: native.gpuCount });
    expect(status.backend?.detail).toContain(
      native.autoDevice === 'gpu' ? 'models run on the GPU' : 'on the CPU',
    );
    expect(await ask(api)).toMatchObject({ device: 'cpu', model: { embedded: true } });
    await api.call('model.choose', { dir: tinyA, patterns: null });
    const chosen = await api.call('engine.ask', {
      question: 'What moves?',
      video,
      generation: { maxTokens: 3 },
    });
    expect(await api.outcome(chosen.jobId)).toMatchObject({
      device: native.autoDevice,
      model: { embedded: false },
    });
  });

  it('MMI_DEVICE=cpu keeps the engine on the CPU, and says so', async () => {
    process.env.MMI_DEVICE = 'cpu';
    api = await createApi();
    await api.call('model.current', {}); // starts the engine host
    const status = await api.call('engine.status', {});
    expect(status.backend).toMatchObject({ device: 'cpu' });
    expect(status.backend?.detail).toContain('MMI_DEVICE=cpu');
    await api.call('model.choose', { dir: tinyA, patterns: null });
    const started = await api.call('engine.ask', {
      question: 'What moves?',
      video,
      generation: { maxTokens: 3 },
    });
    expect(await api.outcome(started.jobId)).toMatchObject({ device: 'cpu' });
  });

  it('an unknown MMI_DEVICE is a typed error naming it', async () => {
    process.env.MMI_DEVICE = 'tpu';
    api = await createApi();
    const e = await failure(api.call('model.current', {}));
    expect(e.message).toMatch(/MMI_DEVICE/);
    expect(e.message).toMatch(/cpu, gpu or auto/);
  });

  it.skipIf(!native.gpuUsable)(
    'on a GPU, a chosen model answers there and heatmaps are refused',
    async () => {
      delete process.env.MMI_DEVICE;
      api = await createApi();
      await api.call('model.choose', { dir: tinyA, patterns: null });
      const started = await api.call('engine.ask', {
        question: 'What moves?',
        video,
        generation: { maxTokens: 3 },
      });
      expect(await api.outcome(started.jobId)).toMatchObject({ device: 'gpu' });
      const refused = await api.call('engine.ask', {
        question: 'What moves?',
        video,
        generation: { maxTokens: 3 },
        heatmaps: { heads: [{ layer: 0, head: 0 }] },
      });
      const e = await failure(api.outcome(refused.jobId));
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message).toMatch(/MMI_DEVICE=cpu/);
    },
  );
});
