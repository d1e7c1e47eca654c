import { describe, expect, it } from 'vitest';
import { AppError } from '../../../../../app/contract/errors.js';
import type { SamplingPlan } from '../../../../../app/contract/video.js';
import { createAppStore, samplingFrom } from '../../../../../renderer/src/state/store.js';
import { sampleMeta as meta } from '../../../../support/sample-meta.js';
import { openReady, scriptedBridge } from '../../../../support/scripted-bridge.js';

const plan: SamplingPlan = {
  times: [0, 10],
  width: 392,
  height: 280,
  sampleFps: 0.1,
  gridT: 1,
  gridH: 20,
  gridW: 28,
  visualTokens: 140,
};
const summary = { frames: 2, width: 392, height: 280, bytes: 2 * 392 * 280 * 3, elapsedSec: 0.5 };

describe('renderer store', () => {
  it('shows a probe failure as the error the host sent, and ignores answers for a video since replaced', async () => {
    const { bridge, take, nextFrame } = scriptedBridge();
    const store = createAppStore(bridge, nextFrame);
    const first = store.getState().openVideo('/a.mp4');
    const second = store.getState().openVideo('/b.mp4');
    take('video.probe').resolve({ ...meta, path: '/a.mp4' });
    take('video.probe').reject(new AppError('NOT_MEDIA', 'Not a media file', '/b.mp4'));
    await Promise.all([first, second]);
    expect(store.getState().opening).toEqual({
      status: 'failed',
      path: '/b.mp4',
      error: { code: 'NOT_MEDIA', message: 'Not a media file', detail: '/b.mp4' },
    });
    expect(store.getState().video).toEqual({ status: 'empty' });
  });

  it('keeps the open video, its decode and its questions when another one fails to open', async () => {
    const { store, take } = await openReady();
    const open = store.getState().video;
    const opening = store.getState().openVideo('/garbage.mp4');
    expect(store.getState().opening).toEqual({ status: 'probing', path: '/garbage.mp4' });
    take('video.probe').reject(new AppError('NOT_MEDIA', 'Not a media file', '/garbage.mp4'));
    await opening;
    expect(store.getState().video).toBe(open);
    expect(store.getState().opening).toMatchObject({ status: 'failed', path: '/garbage.mp4' });
    // A later success clears the failure.
    const again = store.getState().openVideo('/w.mp4');
    take('video.probe').resolve({ ...meta, path: '/w.mp4' });
    await again;
    expect(store.getState().video).toMatchObject({ status: 'ready', path: '/w.mp4' });
    expect(store.getState().opening).toEqual({ status: 'idle' });
  });

  it('keeps the sampling options it sends consistent with the choices', () => {
    expect(samplingFrom({ fps: 1, maxFrames: 2, maxPixels: 64 * 28 * 28 })).toMatchObject({
      fps: 1,
      maxFrames: 2,
      minFrames: 2,
      maxPixels: 64 * 28 * 28,
      minPixels: 64 * 28 * 28,
    });
  });

  it('runs a decode: the chosen options go out, progress events move it, job.done ends it', async () => {
    const { store, take, emit, paint } = await openReady();
    store.getState().setSampling({ fps: 0.5 });
    const started = store.getState().startDecode();
    const call = take('video.decode', 'job-1');
    expect(call.params).toEqual({
      path: '/v.mp4',
      options: samplingFrom({ ...store.getState().sampling }),
      jobId: 'job-1',
    });
    expect((call.params as { options: { fps: number } }).options.fps).toBe(0.5);
    call.resolve({ jobId: 'job-1', plan });
    await started;
    emit('job.progress', { jobId: 'other-job', done: 9, total: 9 });
    emit('job.progress', { jobId: 'job-1', done: 1, total: 2 });
    paint();
    expect(store.getState().decode).toMatchObject({ status: 'running', done: 1, total: 2 });
    emit('job.done', { jobId: 'job-1', result: { kind: 'video.decode', summary } });
    expect(store.getState().decode).toEqual({ status: 'done', path: '/v.mp4', plan, summary });
  });

  it('applies events that arrive before video.decode is answered: the job id is the store’s own', async () => {
    const { store, take, emit } = await openReady();
    const started = store.getState().startDecode();
    const call = take('video.decode', 'job-2');
    emit('job.progress', { jobId: 'job-2', done: 2, total: 2 });
    emit('job.done', { jobId: 'job-2', result: { kind: 'video.decode', summary } });
    call.resolve({ jobId: 'job-2', plan });
    await started;
    expect(store.getState().decode).toMatchObject({ status: 'done', summary });
  });

  it('cancels: job.cancel goes out, and the job ending with CANCELLED shows as cancelled, not as a failure', async () => {
    const { store, take, emit } = await openReady();
    const started = store.getState().startDecode();
    take('video.decode').resolve({ jobId: 'job-3', plan });
    await started;
    // Not painted yet: the count still reaches the cancelled state.
    emit('job.progress', { jobId: 'job-3', done: 1, total: 2 });
    const cancelling = store.getState().cancelDecode();
    expect(store.getState().decode.status).toBe('cancelling');
    const cancel = take('job.cancel');
    expect(cancel.params).toEqual({ jobId: 'job-3' });
    emit('job.failed', { jobId: 'job-3', error: { code: 'CANCELLED', message: 'Cancelled' } });
    cancel.resolve({});
    await cancelling;
    expect(store.getState().decode).toEqual({ status: 'cancelled', path: '/v.mp4', done: 1, total: 2 });
  });

  it('applies a burst of progress events once per frame, with the latest count', async () => {
    const { store, take, emit, paint } = await openReady();
    const started = store.getState().startDecode();
    take('video.decode').resolve({ jobId: 'job-5', plan: { ...plan, times: [0, 1, 2, 3] } });
    await started;
    let updates = 0;
    const stop = store.subscribe(() => updates++);
    for (let done = 1; done <= 3; done++) emit('job.progress', { jobId: 'job-5', done, total: 4 });
    expect(updates).toBe(0);
    paint();
    expect(updates).toBe(1);
    expect(store.getState().decode).toMatchObject({ status: 'running', done: 3, total: 4 });
    stop();
  });

  it('shows a failed decode with its error', async () => {
    const { store, take, emit } = await openReady();
    const started = store.getState().startDecode();
    take('video.decode').resolve({ jobId: 'job-4', plan });
    await started;
    emit('job.failed', { jobId: 'job-4', error: { code: 'CORRUPT_MEDIA', message: 'The file ends early' } });
    expect(store.getState().decode).toEqual({
      status: 'failed',
      path: '/v.mp4',
      error: { code: 'CORRUPT_MEDIA', message: 'The file ends early' },
    });
  });
});
