import { createStore, type StoreApi } from 'zustand/vanilla';
import { toErrorData, type AppErrorData } from '../../../app/contract/errors.js';
import type { HeadReport } from '../../../app/contract/engine.js';
import { newJobId } from '../../../app/contract/job-id.js';
import type { JobResult } from '../../../app/contract/jobs.js';
import type {
  Comparison,
  LoadedPatternFile,
  PatternFileEntry,
  PatternProgress,
  SearchOutcome,
  SearchStarted,
} from '../../../app/contract/patterns.js';
import type { CandidatePreset } from '../../../app/domain/pattern-candidates.js';
import { decodeHeatmap, type HeatmapRecord } from '../../../app/domain/heatmap-record.js';
import type { HostBridge } from '../bridge/bridge.js';
import { headKey } from '../state/captures.js';
import { animationFrame, frameBatch, type FrameScheduler } from '../state/frame-batch.js';

// The Patterns view's state (the folder browser is the app's, shared with the analysis view): calibration videos
// and search settings, the running search (its progress per video
// and layer), the pattern folder's files, the file being browsed with its selected head, that head's layer's
// heatmaps captured on a video under the file, and a comparison. Its jobs' ids are chosen here before they are
// started, and their events routed by them; progress is applied once per frame. One store per bridge, kept while the app runs, so leaving the view loses nothing.

export type JobStatus = 'idle' | 'starting' | 'running' | 'cancelling' | 'done' | 'cancelled' | 'failed';

export interface SearchState {
  status: JobStatus;
  jobId: string | null;
  started: SearchStarted | null;
  /** The latest report of each stage. */
  progress: PatternProgress | null;
  /** [video][layer]: scored. */
  scored: boolean[][];
  outcome: SearchOutcome | null;
  error: AppErrorData | null;
}

export interface CaptureState {
  status: JobStatus;
  jobId: string | null;
  /** file|video|layer of the capture shown or running. */
  key: string | null;
  progress: PatternProgress | null;
  records: Map<string, { record: HeatmapRecord; report: HeadReport }>;
  promptTokens: number | null;
  error: AppErrorData | null;
}

export interface CompareState {
  status: JobStatus;
  jobId: string | null;
  /** The other file; null: dense. */
  other: string | null;
  progress: PatternProgress | null;
  result: Comparison | null;
  error: AppErrorData | null;
}

export type LoadState =
  | { status: 'idle' }
  | { status: 'loading'; path: string }
  | { status: 'ready'; loaded: LoadedPatternFile }
  | { status: 'failed'; path: string; error: AppErrorData };

export type GridColour = 'pattern' | 'recall' | 'density';

export interface PatternsState {
  videos: string[];
  candidates: CandidatePreset;
  /** As typed; empty: the preset's target. */
  costTarget: string;
  fps: string;
  search: SearchState;
  files: {
    status: 'idle' | 'loading' | 'ready' | 'failed';
    list: PatternFileEntry[];
    /** The file questions are pre-filled with now (the current model's); null: they run dense. */
    inUse: PatternFileEntry | null;
    error: AppErrorData | null;
  };
  current: LoadState;
  selected: { layer: number; head: number };
  colour: GridColour;
  /** The video heatmaps and comparisons run on. */
  video: string | null;
  capture: CaptureState;
  compare: CompareState;
  addVideo(path: string): void;
  removeVideo(path: string): void;
  setSettings(
    patch: Partial<Pick<PatternsState, 'candidates' | 'costTarget' | 'fps' | 'colour' | 'video'>>,
  ): void;
  startSearch(): Promise<void>;
  cancel(jobId: string | null): Promise<void>;
  refreshFiles(): Promise<void>;
  loadFile(path: string): Promise<void>;
  selectHead(layer: number, head: number): void;
  captureLayer(): Promise<void>;
  startCompare(other: string | null): Promise<void>;
}

const idleJob = { status: 'idle' as const, jobId: null, progress: null, error: null };

function sampling(fps: string): { fps: number } | undefined {
  const value = Number(fps);
  return fps.trim() !== '' && Number.isFinite(value) && value > 0 ? { fps: value } : undefined;
}

export function createPatternsStore(
  bridge: HostBridge,
  nextFrame: FrameScheduler = animationFrame,
): StoreApi<PatternsState> {
  const latest = new Map<string, PatternProgress>();

  const store = createStore<PatternsState>()((set, get) => ({
    videos: [],
    candidates: 'default',
    costTarget: '',
    fps: '',
    search: { ...idleJob, started: null, scored: [], outcome: null },
    files: { status: 'idle', list: [], inUse: null, error: null },
    current: { status: 'idle' },
    selected: { layer: 0, head: 0 },
    colour: 'pattern',
    video: null,
    capture: { ...idleJob, key: null, records: new Map(), promptTokens: null },
    compare: { ...idleJob, other: null, result: null },

    addVideo(path) {
      const { videos, video } = get();
      if (!videos.includes(path)) set({ videos: [...videos, path], video: video ?? path });
    },

    removeVideo(path) {
      const videos = get().videos.filter((v) => v !== path);
      set({ videos, video: get().video === path ? (videos[0] ?? null) : get().video });
    },

    setSettings(patch) {
      set(patch);
    },

    async startSearch() {
      const { videos, candidates, costTarget, fps, search } = get();
      if (videos.length === 0 || search.status === 'starting' || search.status === 'running') return;
      const target = Number(costTarget);
      const jobId = newJobId();
      set({ search: { ...idleJob, status: 'starting', jobId, started: null, scored: [], outcome: null } });
      try {
        const started = await bridge.call('patterns.search', {
          videos,
          candidates,
          ...(costTarget.trim() !== '' && Number.isFinite(target) ? { costTarget: target } : {}),
          ...(sampling(fps) ? { sampling: sampling(fps) } : {}),
          jobId,
        });
        answered('search', jobId, { started });
      } catch (err) {
        failedToStart('search', jobId, err);
      }
    },

    async cancel(jobId) {
      if (jobId === null) return;
      for (const part of ['search', 'capture', 'compare'] as const) {
        const state = get()[part];
        if (state.jobId === jobId && state.status === 'running')
          set({ [part]: { ...state, status: 'cancelling' } });
      }
      await bridge.call('job.cancel', { jobId }).catch(() => undefined);
    },

    async refreshFiles() {
      set({ files: { ...get().files, status: 'loading' } });
      try {
        const { files, inUse } = await bridge.call('patterns.list', {});
        set({ files: { status: 'ready', list: files, inUse, error: null } });
        // Nothing open yet: the view starts with the file the app uses, not a blank page.
        if (inUse?.summary && get().current.status === 'idle') await get().loadFile(inUse.path);
      } catch (err) {
        set({ files: { status: 'failed', list: [], inUse: null, error: toErrorData(err) } });
      }
    },

    async loadFile(path) {
      set({ current: { status: 'loading', path } });
      try {
        const loaded = await bridge.call('patterns.load', { path });
        if (get().current.status === 'loading') {
          set({
            current: { status: 'ready', loaded },
            selected: { layer: 0, head: 0 },
            capture: { ...idleJob, key: null, records: new Map(), promptTokens: null },
            compare: { ...idleJob, other: null, result: null },
          });
        }
      } catch (err) {
        set({ current: { status: 'failed', path, error: toErrorData(err) } });
      }
    },

    selectHead(layer, head) {
      set({ selected: { layer, head } });
      void get().captureLayer();
    },

    async captureLayer() {
      const { current, video, selected, capture } = get();
      if (current.status !== 'ready' || video === null) return;
      const key = `${current.loaded.path}|${video}|${selected.layer}`;
      if (capture.key === key && capture.status !== 'failed' && capture.status !== 'cancelled') return;
      if (capture.status === 'running') void get().cancel(capture.jobId);
      const heads = Array.from({ length: current.loaded.file.model.heads }, (_, head) => ({
        layer: selected.layer,
        head,
      }));
      const jobId = newJobId();
      set({
        capture: { ...idleJob, status: 'starting', jobId, key, records: new Map(), promptTokens: null },
      });
      try {
        await bridge.call('patterns.heatmaps', {
          video,
          patterns: current.loaded.path,
          heads,
          ...(sampling(get().fps) ? { sampling: sampling(get().fps) } : {}),
          jobId,
        });
        answered('capture', jobId, {});
      } catch (err) {
        failedToStart('capture', jobId, err);
      }
    },

    async startCompare(other) {
      const { current, video, compare } = get();
      if (current.status !== 'ready' || video === null || compare.status === 'running') return;
      const jobId = newJobId();
      set({ compare: { ...idleJob, status: 'starting', jobId, other, result: null } });
      try {
        await bridge.call('patterns.compare', {
          video,
          a: current.loaded.path,
          b: other,
          ...(sampling(get().fps) ? { sampling: sampling(get().fps) } : {}),
          jobId,
        });
        answered('compare', jobId, {});
      } catch (err) {
        failedToStart('compare', jobId, err);
      }
    },
  }));

  /** Which part of the state a job belongs to. */
  const partOf = (jobId: string): Part | null => {
    const s = store.getState();
    if (s.search.jobId === jobId) return 'search';
    if (s.capture.jobId === jobId) return 'capture';
    if (s.compare.jobId === jobId) return 'compare';
    return null;
  };
  type Part = 'search' | 'capture' | 'compare';
  /** The command that started a part's job answered: it runs (unless its own events have ended it already). */
  function answered(part: Part, jobId: string, patch: Partial<SearchState>): void {
    const state = store.getState()[part];
    if (state.jobId !== jobId) return;
    const status = state.status === 'starting' ? 'running' : state.status;
    store.setState({ [part]: { ...state, ...patch, status } } as Partial<PatternsState>);
  }
  function failedToStart(part: Part, jobId: string, err: unknown): void {
    const state = store.getState()[part];
    if (state.jobId === jobId)
      store.setState({
        [part]: { ...state, status: 'failed', error: toErrorData(err) },
      } as Partial<PatternsState>);
  }

  const applyProgress = (p: PatternProgress): void => {
    const part = partOf(p.jobId);
    if (part === null) return;
    const state = store.getState();
    if (part === 'search') {
      const scored = state.search.scored.map((row) => [...row]);
      if (p.stage === 'search' && p.video !== undefined && p.layer !== undefined && p.layers && p.videos) {
        while (scored.length < p.videos) scored.push([]);
        // Units are (video, layer) in order: everything up to `done` is scored.
        for (let unit = 0; unit < p.done; unit++) {
          const v = Math.floor(unit / p.layers);
          const row = scored[v] ?? [];
          row[unit % p.layers] = true;
          scored[v] = row;
        }
      }
      store.setState({ search: { ...state.search, progress: p, scored } });
    } else {
      store.setState({ [part]: { ...state[part], progress: p } } as Partial<PatternsState>);
    }
  };
  const progress = frameBatch(nextFrame, () => {
    const pending = [...latest.values()];
    latest.clear();
    for (const p of pending) applyProgress(p);
  });

  const finish = (jobId: string, result: JobResult | null, error: AppErrorData | null): void => {
    progress.now();
    const part = partOf(jobId);
    const state = store.getState();
    const status: JobStatus = error === null ? 'done' : error.code === 'CANCELLED' ? 'cancelled' : 'failed';
    if (part === 'search') {
      const outcome = result?.kind === 'patterns.search' ? result.search : null;
      store.setState({ search: { ...state.search, status, outcome, error } });
      if (outcome) {
        void state.refreshFiles();
        void state.loadFile(outcome.out);
      }
    } else if (part === 'capture') {
      const records = new Map<string, { record: HeatmapRecord; report: HeadReport }>();
      if (result?.kind === 'patterns.heatmaps') {
        for (const { heatmap, report } of result.heatmaps.heads) {
          const record = decodeHeatmap(heatmap);
          if (record)
            records.set(headKey(heatmap.layer, heatmap.head), { record, report: { ...report, jobId } });
        }
      }
      const promptTokens = result?.kind === 'patterns.heatmaps' ? result.heatmaps.promptTokens : null;
      store.setState({ capture: { ...state.capture, status, records, promptTokens, error } });
    } else if (part === 'compare') {
      const comparison = result?.kind === 'patterns.compare' ? result.comparison : null;
      store.setState({ compare: { ...state.compare, status, result: comparison, error } });
    }
  };

  const receive = (jobId: string, event: 'progress' | 'done' | 'failed', payload: unknown): void => {
    if (partOf(jobId) === null) return;
    if (event === 'progress') {
      latest.set(jobId, payload as PatternProgress);
      progress.schedule();
    } else if (event === 'done') finish(jobId, payload as JobResult, null);
    else finish(jobId, null, payload as AppErrorData);
  };

  bridge.on('patterns.progress', (p) => receive(p.jobId, 'progress', p));
  bridge.on('job.done', ({ jobId, result }) => receive(jobId, 'done', result));
  bridge.on('job.failed', ({ jobId, error }) => receive(jobId, 'failed', error));
  return store;
}

const stores = new WeakMap<HostBridge, StoreApi<PatternsState>>();

/** The one Patterns store of a bridge (made on first use, with `nextFrame` then). */
export function patternsStoreFor(
  bridge: HostBridge,
  nextFrame: FrameScheduler = animationFrame,
): StoreApi<PatternsState> {
  let store = stores.get(bridge);
  if (!store) {
    store = createPatternsStore(bridge, nextFrame);
    stores.set(bridge, store);
  }
  return store;
}
