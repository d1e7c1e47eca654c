import { describe, expect, it } from 'vitest';
import type { EngineHostStatus } from '../../../../../app/contract/engine.js';
import { AppError } from '../../../../../app/contract/errors.js';
import { createAppStore } from '../../../../../renderer/src/state/store.js';
import { embeddedChoice, started, tinyInfo } from '../../../../support/engine-samples.js';
import { openReady, scriptedBridge } from '../../../../support/scripted-bridge.js';

// The model picker and the engine's state against a scripted bridge.

const chosen = { ...embeddedChoice, dir: '/models/qwen', embedded: false, notice: null, demoVideo: null };
const status: EngineHostStatus = {
  state: 'ready',
  pid: 4242,
  backend: { device: 'cpu', cpuThreads: 2, cudaBuilt: false, gpus: 0, detail: 'CPU, 2 threads' },
  model: embeddedChoice,
  lastCrash: null,
  restarts: 0,
};

describe('model and engine state', () => {
  it('reads the current model, and says when the engine cannot tell', async () => {
    const { bridge, take, nextFrame } = scriptedBridge();
    const store = createAppStore(bridge, nextFrame);
    expect(store.getState().model).toEqual({ status: 'loading' });
    let loading = store.getState().loadModel();
    take('model.current').resolve(embeddedChoice);
    await loading;
    expect(store.getState().model).toEqual({ status: 'ready', choice: embeddedChoice });
    loading = store.getState().loadModel();
    take('model.current').reject(new AppError('ENGINE_UNAVAILABLE', 'No engine'));
    await loading;
    expect(store.getState().model).toMatchObject({ status: 'failed', error: { code: 'ENGINE_UNAVAILABLE' } });
  });

  it('shows what a folder holds, or why it cannot be used, and ignores the answer for a folder since replaced', async () => {
    const { bridge, take, nextFrame } = scriptedBridge();
    const store = createAppStore(bridge, nextFrame);
    const first = store.getState().inspectModel('/models/a');
    const second = store.getState().inspectModel('/models/b');
    take('model.inspect').resolve({ ...tinyInfo, dir: '/models/a' });
    const bad = new AppError(
      'MODEL_INVALID',
      'Tensor has the wrong shape',
      'model.safetensors: lm_head.weight',
    );
    take('model.inspect').reject(bad);
    await Promise.all([first, second]);
    expect(store.getState().inspection).toEqual({ status: 'failed', dir: '/models/b', error: bad.toData() });
    const third = store.getState().inspectModel('/models/c');
    take('model.inspect').resolve({ ...tinyInfo, dir: '/models/c' });
    await third;
    expect(store.getState().inspection).toMatchObject({
      status: 'ready',
      dir: '/models/c',
      info: { heads: 4 },
    });
  });

  it('chooses a model: the analysis starts afresh, the engine is asked how it is', async () => {
    const { store, take } = await openReady();
    const asking = store.getState().ask('Before?');
    take('engine.ask').resolve(started('ask-1'));
    await asking;
    const choosing = store.getState().chooseModel('/models/qwen', '/p.json');
    expect(store.getState().choosing).toEqual({ status: 'choosing', dir: '/models/qwen' });
    const call = take('model.choose');
    expect(call.params).toEqual({ dir: '/models/qwen', patterns: '/p.json' });
    call.resolve(chosen);
    await choosing;
    expect(take('job.cancel').params).toEqual({ jobId: 'ask-1' });
    expect(store.getState().model).toEqual({ status: 'ready', choice: chosen });
    expect(store.getState().conversation.turns).toEqual([]);
    expect(store.getState().askOptions.heatmaps).toBe('all');
    take('engine.status');

    const back = store.getState().chooseModel(null);
    const again = take('model.choose');
    expect(again.params).toEqual({ dir: null });
    again.reject(new AppError('ENGINE_CRASHED', 'gone'));
    await back;
    expect(store.getState().choosing).toMatchObject({
      status: 'failed',
      dir: null,
      error: { code: 'ENGINE_CRASHED' },
    });
    expect(store.getState().model).toEqual({ status: 'ready', choice: chosen });
  });

  it('captures every head of a small model by default, and one layer of a large one', async () => {
    const { bridge, take, nextFrame } = scriptedBridge();
    const store = createAppStore(bridge, nextFrame);
    const loading = store.getState().loadModel();
    // Qwen2.5-VL-7B's language model: 28 layers of 28 heads.
    take('model.current').resolve({ ...embeddedChoice, info: { ...tinyInfo, textLayers: 28, heads: 28 } });
    await loading;
    expect(store.getState().askOptions.heatmaps).toBe('layer');
    const choosing = store.getState().chooseModel(null);
    take('model.choose').resolve(embeddedChoice);
    await choosing;
    expect(store.getState().askOptions.heatmaps).toBe('all');
  });

  it('polls the engine without re-rendering when nothing changed, and restarts it', async () => {
    const { bridge, take, nextFrame } = scriptedBridge();
    const store = createAppStore(bridge, nextFrame);
    let refreshing = store.getState().refreshEngine();
    take('engine.status').resolve(status);
    await refreshing;
    expect(store.getState().engine).toEqual({ status: 'ready', host: status });
    expect(store.getState().model).toEqual({ status: 'ready', choice: embeddedChoice });

    let updates = 0;
    const stop = store.subscribe(() => updates++);
    refreshing = store.getState().refreshEngine();
    take('engine.status').resolve(structuredClone(status));
    await refreshing;
    expect(updates).toBe(0);
    stop();

    const crashed: EngineHostStatus = {
      ...status,
      state: 'crashed',
      pid: null,
      lastCrash: { message: 'killed', at: '2026-01-01T00:00:00.000Z', exitCode: null, signal: 'SIGKILL' },
    };
    refreshing = store.getState().refreshEngine();
    take('engine.status').resolve(crashed);
    await refreshing;
    expect(store.getState().engine).toEqual({ status: 'ready', host: crashed });

    const restarting = store.getState().restartEngine();
    expect(store.getState().engineRestarting).toBe(true);
    take('engine.restart').resolve({ ...crashed, state: 'ready', pid: 5000, restarts: 1 });
    await restarting;
    expect(store.getState().engineRestarting).toBe(false);
    expect(store.getState().engine).toMatchObject({ status: 'ready', host: { state: 'ready', restarts: 1 } });
  });

  it('lists model folders apart from the video browser', async () => {
    const { bridge, take, count, nextFrame } = scriptedBridge();
    const store = createAppStore(bridge, nextFrame);
    const browsing = store.getState().browseModels();
    // A single allowed folder: it goes straight in.
    take('files.list').resolve({ dir: null, parent: null, roots: ['/r'], entries: [] });
    await expect.poll(() => count('files.list')).toBe(1);
    const inner = take('files.list');
    expect(inner.params).toEqual({ dir: '/r' });
    inner.resolve({ dir: '/r', parent: null, roots: ['/r'], entries: [] });
    await browsing;
    expect(store.getState().modelBrowser).toMatchObject({ status: 'ready', listing: { dir: '/r' } });
    expect(store.getState().browser).toEqual({ status: 'idle' });
  });
});
