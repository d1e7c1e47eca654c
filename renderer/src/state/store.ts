import { createStore, type StoreApi } from 'zustand/vanilla';
import type { Diagnostics } from '../../../app/contract/diagnostics.js';
import { toErrorData, type AppErrorData } from '../../../app/contract/errors.js';
import type { JobDone, JobFailed, JobProgress } from '../../../app/contract/jobs.js';
import type { DecodeSummary, SamplingPlan, VideoMeta } from '../../../app/contract/video.js';
import { newJobId } from '../../../app/contract/job-id.js';
import { defaultSamplingOptions, planSampling } from '../../../app/domain/sampling.js';
import type { ConnectionState, HostBridge } from '../bridge/bridge.js';
import { createAskEvents } from './ask-events.js';
import { createAskSlice, type AskSlice } from './ask-slice.js';
import { createCaptures } from './captures.js';
import { listFolder, type BrowserState } from './folders.js';
import { animationFrame, frameBatch, type FrameScheduler } from './frame-batch.js';
import { createModelSlice, type ModelSlice } from './model-slice.js';
import { samplingFrom, type SamplingChoice } from './sampling-choice.js';

export type { BrowserState } from './folders.js';
export type { FrameScheduler } from './frame-batch.js';
export { samplingFrom, type SamplingChoice } from './sampling-choice.js';

// The renderer's state: a replica of what the services report (video, jobs, listings, the model and the engine,
// questions and their answers) plus what only the UI owns (sampling and answer options, the explorer's view).
// Actions call the bridge; answers and events land here; views only read and call actions. The model and engine
// part is in model-slice.ts, questions in ask-slice.ts; this file holds the video part and puts them together.

/** The video open for analysis: it changes only when another one was probed successfully. */
export type VideoState = { status: 'empty' } | { status: 'ready'; path: string; meta: VideoMeta };

/** The latest attempt to open a video: a failed one leaves the open video (or the demo clip) as it was. */
export type OpeningState =
  | { status: 'idle' }
  | { status: 'probing'; path: string }
  | { status: 'failed'; path: string; error: AppErrorData };

export type DecodeState =
  | { status: 'idle' }
  /** Sent, not answered yet: the job's id is ours and its plan the domain rule's, so its events apply already. */
  | { status: 'starting'; path: string; jobId: string; plan: SamplingPlan; done: number; total: number }
  | { status: 'running'; path: string; jobId: string; plan: SamplingPlan; done: number; total: number }
  | { status: 'cancelling'; path: string; jobId: string; plan: SamplingPlan; done: number; total: number }
  | { status: 'done'; path: string; plan: SamplingPlan; summary: DecodeSummary }
  | { status: 'cancelled'; path: string; done: number; total: number }
  | { status: 'failed'; path: string; error: AppErrorData };

export type DiagnosticsState =
  | { status: 'idle' }
  | { status: 'loading' }
  | { status: 'ready'; diagnostics: Diagnostics }
  | { status: 'failed'; error: AppErrorData };

export interface AppState extends ModelSlice, AskSlice {
  connection: ConnectionState;
  video: VideoState;
  opening: OpeningState;
  sampling: SamplingChoice;
  decode: DecodeState;
  browser: BrowserState;
  diagnostics: DiagnosticsState;
  openVideo(path: string): Promise<void>;
  setSampling(patch: Partial<SamplingChoice>): void;
  startDecode(): Promise<void>;
  cancelDecode(): Promise<void>;
  browse(dir?: string): Promise<void>;
  loadDiagnostics(): Promise<void>;
}

type JobEvent =
  | { kind: 'progress'; payload: JobProgress }
  | { kind: 'done'; payload: JobDone }
  | { kind: 'failed'; payload: JobFailed };

export function createAppStore(
  bridge: HostBridge,
  nextFrame: FrameScheduler = animationFrame,
): StoreApi<AppState> {
  const captures = createCaptures(nextFrame);
  const askEvents = createAskEvents(bridge, captures, nextFrame);

  const store = createStore<AppState>()((set, get) => ({
    ...createModelSlice(bridge, set, get),
    ...createAskSlice(bridge, set, get, captures),
    connection: 'connecting',
    video: { status: 'empty' },
    opening: { status: 'idle' },
    sampling: {
      fps: defaultSamplingOptions.fps,
      maxFrames: defaultSamplingOptions.maxFrames,
      maxPixels: defaultSamplingOptions.maxPixels,
    },
    decode: { status: 'idle' },
    browser: { status: 'idle' },
    diagnostics: { status: 'idle' },

    async openVideo(path) {
      set({ opening: { status: 'probing', path } });
      let meta: VideoMeta;
      try {
        meta = await bridge.call('video.probe', { path });
      } catch (err) {
        if (isLatestOpening(get().opening, path))
          set({ opening: { status: 'failed', path, error: toErrorData(err) } });
        return;
      }
      // A slow answer for a video the user has since replaced must not overwrite the newer one.
      if (!isLatestOpening(get().opening, path)) return;
      const decode = get().decode;
      if (decode.status === 'running')
        void bridge.call('job.cancel', { jobId: decode.jobId }).catch(() => undefined);
      // Another video is another analysis: its questions start afresh.
      if (get().conversation.video !== null && get().conversation.video !== path) get().resetConversation();
      set({
        video: { status: 'ready', path, meta },
        opening: { status: 'idle' },
        decode: { status: 'idle' },
      });
    },

    setSampling(patch) {
      set({ sampling: { ...get().sampling, ...patch } });
    },

    async startDecode() {
      const { video, sampling, decode } = get();
      if (video.status !== 'ready' || decode.status === 'starting' || decode.status === 'running') return;
      const path = video.path;
      const options = samplingFrom(sampling);
      const jobId = newJobId();
      try {
        // The services plan by the same rule (app/domain/sampling.ts); their answer's plan replaces this one.
        const plan = planSampling(video.meta, options);
        set({ decode: { status: 'starting', path, jobId, plan, done: 0, total: plan.times.length } });
        const answer = await bridge.call('video.decode', { path, options, jobId });
        const now = get().decode;
        if (now.status === 'starting' && now.jobId === jobId)
          set({ decode: { ...now, status: 'running', plan: answer.plan } });
      } catch (err) {
        const now = get().decode;
        if (now.status === 'idle' || (now.status === 'starting' && now.jobId === jobId))
          set({ decode: { status: 'failed', path, error: toErrorData(err) } });
      }
    },

    async cancelDecode() {
      const decode = get().decode;
      if (decode.status !== 'running') return;
      set({ decode: { ...decode, status: 'cancelling' } });
      try {
        await bridge.call('job.cancel', { jobId: decode.jobId });
      } catch (err) {
        // The job may have ended meanwhile (JOB_NOT_FOUND); its own event says how, so only report other errors.
        const error = toErrorData(err);
        const now = get().decode;
        if (error.code !== 'JOB_NOT_FOUND' && now.status === 'cancelling') {
          set({ decode: { status: 'failed', path: now.path, error } });
        }
      }
    },

    async browse(dir) {
      set({ browser: { status: 'loading', dir: dir ?? null } });
      try {
        set({ browser: { status: 'ready', listing: await listFolder(bridge, dir) } });
      } catch (err) {
        set({ browser: { status: 'failed', dir: dir ?? null, error: toErrorData(err) } });
      }
    },

    async loadDiagnostics() {
      set({ diagnostics: { status: 'loading' } });
      try {
        set({ diagnostics: { status: 'ready', diagnostics: await bridge.call('app.diagnostics', {}) } });
      } catch (err) {
        set({ diagnostics: { status: 'failed', error: toErrorData(err) } });
      }
    },
  }));

  function applyJobEvent(event: JobEvent): void {
    const decode = store.getState().decode;
    if (
      (decode.status !== 'starting' && decode.status !== 'running' && decode.status !== 'cancelling') ||
      decode.jobId !== event.payload.jobId
    ) {
      return;
    }
    if (event.kind === 'progress') {
      store.setState({ decode: { ...decode, done: event.payload.done, total: event.payload.total } });
    } else if (event.kind === 'done') {
      if (event.payload.result.kind !== 'video.decode') return;
      store.setState({
        decode: {
          status: 'done',
          path: decode.path,
          plan: decode.plan,
          summary: event.payload.result.summary,
        },
      });
    } else if (event.payload.error.code === 'CANCELLED') {
      store.setState({
        decode: { status: 'cancelled', path: decode.path, done: decode.done, total: decode.total },
      });
    } else {
      store.setState({ decode: { status: 'failed', path: decode.path, error: event.payload.error } });
    }
  }

  // A decode reports every frame; the UI needs the latest count once per frame, not hundreds of renders a second.
  // A job's last count is applied before its outcome, so a cancelled job shows how far it got.
  const latestProgress = new Map<string, JobProgress>();
  const progress = frameBatch(nextFrame, () => {
    const pending = [...latestProgress.values()];
    latestProgress.clear();
    for (const payload of pending) applyJobEvent({ kind: 'progress', payload });
  });
  bridge.on('job.progress', (payload) => {
    latestProgress.set(payload.jobId, payload);
    progress.schedule();
  });
  bridge.on('job.done', (payload) => {
    progress.now();
    applyJobEvent({ kind: 'done', payload });
  });
  bridge.on('job.failed', (payload) => {
    progress.now();
    applyJobEvent({ kind: 'failed', payload });
  });
  askEvents.attach(store);
  bridge.onConnection((connection) => store.setState({ connection }));
  return store;
}

function isLatestOpening(opening: OpeningState, path: string): boolean {
  return opening.status === 'probing' && opening.path === path;
}
