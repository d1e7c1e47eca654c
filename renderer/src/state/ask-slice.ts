import type { StoreApi } from 'zustand/vanilla';
import { newJobId } from '../../../app/contract/job-id.js';
import {
  defaultMaxAnswerTokens,
  type AskParams,
  type AskResult,
  type AskStage,
  type AskStarted,
  type HeatmapRequest,
  type ModelInfo,
} from '../../../app/contract/engine.js';
import { toErrorData, type AppErrorData } from '../../../app/contract/errors.js';
import type { HostBridge } from '../bridge/bridge.js';
import type { ValueScale } from '../heatmap/colour-scale.js';
import type { Captures } from './captures.js';
import { samplingFrom } from './sampling-choice.js';
import type { AppState } from './store.js';

// Questions about the open video: one conversation per video and model (follow-ups reuse the video's KV cache
// in the engine), each question a job whose progress, answer tokens, head reports and heatmaps arrive as events
// (ask-events.ts applies them). The heatmap explorer's choices live here too: they are the UI's alone.

export type TurnStatus = 'starting' | 'running' | 'cancelling' | 'done' | 'cancelled' | 'failed';

export interface StageProgress {
  done: number;
  total: number | null;
}

export interface AskTurn {
  /** Local and stable, for lists. */
  key: number;
  question: string;
  status: TurnStatus;
  /** Chosen here before engine.ask is sent, so the job's events find the turn from the first one. */
  jobId: string;
  /** What engine.ask answered; null until it has (the job's events may come first). */
  started: AskStarted | null;
  /** The stage reported last. */
  stage: AskStage | null;
  stages: Partial<Record<AskStage, StageProgress>>;
  /** The answer as streamed so far; the engine's final text once done. */
  answer: string;
  tokens: number;
  result: AskResult | null;
  error: AppErrorData | null;
}

/** Which heads to capture heatmaps for: all, the heads of the explorer's layer, or none. */
export type HeatmapCapture = 'all' | 'layer' | 'off';

export interface AskOptions {
  maxTokens: number;
  /** 0: greedy. */
  temperature: number;
  heatmaps: HeatmapCapture;
  /** G of the heatmaps. */
  grid: number;
  /** Ignore the model's pattern file: dense attention everywhere (the reference to compare with). */
  dense: boolean;
}

export interface ConversationState {
  /** The engine's conversation once a question of it was answered (the engine follows up only on an answer). */
  id: string | null;
  /** The video the questions are about. */
  video: string | null;
  turns: AskTurn[];
}

export interface ExplorerState {
  /** The question whose pre-fill is shown; null: the latest. */
  turnKey: number | null;
  layer: number;
  head: number;
  /** Show the layer the pre-fill has reached (until a head is picked by hand). */
  follow: boolean;
  scale: ValueScale;
  overlay: boolean;
}

export interface AskSlice {
  conversation: ConversationState;
  askOptions: AskOptions;
  explorer: ExplorerState;
  /** Head reports and heatmaps per job (outside React state; see captures.ts). */
  captures: Captures;
  ask(question: string): Promise<void>;
  cancelAsk(): Promise<void>;
  /** Forgets the questions so far: the next one starts a new conversation. A running one is cancelled. */
  resetConversation(): void;
  setAskOptions(patch: Partial<AskOptions>): void;
  /** A head picked by hand (stops following the pre-fill). */
  selectHead(layer: number, head: number): void;
  setExplorer(patch: Partial<ExplorerState>): void;
}

/** Heads above which heatmaps of every head would be too much to send by default (7B: 28 × 28 = 784). */
export const allHeadsLimit = 256;

/** What to capture by default for a model: every head of a small model, one layer's heads of a large one. */
export function defaultCapture(info: ModelInfo): HeatmapCapture {
  return info.textLayers * info.heads <= allHeadsLimit ? 'all' : 'layer';
}

export const defaultAskOptions: AskOptions = {
  maxTokens: defaultMaxAnswerTokens,
  temperature: 0,
  heatmaps: 'all',
  grid: 64,
  dense: false,
};

const initialExplorer: ExplorerState = {
  turnKey: null,
  layer: 0,
  head: 0,
  follow: true,
  scale: 'log',
  overlay: true,
};

type SetState = StoreApi<AppState>['setState'];
type GetState = StoreApi<AppState>['getState'];

export function isActive(turn: AskTurn): boolean {
  return turn.status === 'starting' || turn.status === 'running' || turn.status === 'cancelling';
}

/** The question being answered now, if any. */
export function activeTurn(state: Pick<AppState, 'conversation'>): AskTurn | undefined {
  return state.conversation.turns.find(isActive);
}

/** Replaces one turn (by key) with what `change` makes of it; unchanged when the turn is gone. */
export function updateTurn(
  set: SetState,
  get: GetState,
  key: number,
  change: (turn: AskTurn) => AskTurn,
): void {
  const { conversation } = get();
  const index = conversation.turns.findIndex((t) => t.key === key);
  const turn = conversation.turns[index];
  if (!turn) return;
  const turns = conversation.turns.slice();
  turns[index] = change(turn);
  set({ conversation: { ...conversation, turns } });
}

export function createAskSlice(
  bridge: HostBridge,
  set: SetState,
  get: GetState,
  captures: Captures,
): AskSlice {
  let nextKey = 1;

  const heatmapRequest = (): HeatmapRequest | undefined => {
    const { askOptions, explorer, model } = get();
    if (askOptions.heatmaps === 'off') return undefined;
    const heads = model.status === 'ready' ? model.choice.info.heads : null;
    if (askOptions.heatmaps === 'layer' && heads !== null) {
      const refs = Array.from({ length: heads }, (_, head) => ({ layer: explorer.layer, head }));
      return { heads: refs, grid: askOptions.grid, samples: 64 };
    }
    return { heads: 'all', grid: askOptions.grid, samples: 64 };
  };

  return {
    conversation: { id: null, video: null, turns: [] },
    askOptions: defaultAskOptions,
    explorer: initialExplorer,
    captures,

    async ask(question) {
      const { conversation, askOptions, sampling } = get();
      const target = askTarget(get());
      const text = question.trim();
      if (target === null || text === '' || activeTurn(get())) return;
      const path = target.path;
      const continuing = conversation.id !== null && conversation.video === path;
      const key = nextKey++;
      const jobId = newJobId();
      const turn: AskTurn = {
        key,
        question: text,
        status: 'starting',
        jobId,
        started: null,
        stage: null,
        stages: {},
        answer: '',
        tokens: 0,
        result: null,
        error: null,
      };
      set({
        conversation: {
          id: continuing ? conversation.id : null,
          video: path,
          turns: [...(conversation.video === path ? conversation.turns : []), turn],
        },
        explorer: { ...get().explorer, turnKey: null, follow: true },
      });
      const params: AskParams = {
        question: text,
        generation: { maxTokens: askOptions.maxTokens, temperature: askOptions.temperature },
        jobId,
      };
      if (!target.demo) params.video = path;
      if (continuing && conversation.id !== null) params.conversationId = conversation.id;
      else params.sampling = samplingFrom(sampling);
      const heatmaps = heatmapRequest();
      if (heatmaps) params.heatmaps = heatmaps;
      if (askOptions.dense) params.patterns = null;

      let started: AskStarted;
      try {
        started = await bridge.call('engine.ask', params);
      } catch (err) {
        updateTurn(set, get, key, (t) => ({ ...t, status: 'failed', error: toErrorData(err) }));
        void get().refreshEngine();
        return;
      }
      const still = get().conversation.turns.find((t) => t.key === key);
      if (!still) {
        // The conversation was reset while the question was starting.
        void bridge.call('job.cancel', { jobId }).catch(() => undefined);
        return;
      }
      // The job's own events may have moved the turn on (or ended it) already.
      updateTurn(set, get, key, (t) => ({
        ...t,
        status: t.status === 'starting' ? 'running' : t.status,
        started,
      }));
      // A cancel asked for while the job was being started is sent now that it exists.
      if (still.status === 'cancelling') await cancelJob(jobId);
    },

    async cancelAsk() {
      const turn = activeTurn(get());
      if (!turn || turn.status === 'cancelling') return;
      updateTurn(set, get, turn.key, (t) => ({ ...t, status: 'cancelling' }));
      // Until engine.ask has answered, the job may not exist yet: the cancel is sent once it does (ask above).
      if (turn.started !== null) await cancelJob(turn.jobId);
    },

    resetConversation() {
      const turn = activeTurn(get());
      if (turn) void bridge.call('job.cancel', { jobId: turn.jobId }).catch(() => undefined);
      captures.clear();
      set({
        conversation: { id: null, video: null, turns: [] },
        explorer: { ...get().explorer, turnKey: null, layer: 0, head: 0, follow: true },
      });
    },

    setAskOptions(patch) {
      set({ askOptions: { ...get().askOptions, ...patch } });
    },

    selectHead(layer, head) {
      set({ explorer: { ...get().explorer, layer, head, follow: false } });
    },

    setExplorer(patch) {
      set({ explorer: { ...get().explorer, ...patch } });
    },
  };

  async function cancelJob(jobId: string): Promise<void> {
    try {
      await bridge.call('job.cancel', { jobId });
    } catch (err) {
      // The job may have ended meanwhile (JOB_NOT_FOUND): its own event says how. Other errors are shown.
      const error = toErrorData(err);
      const turn = get().conversation.turns.find((t) => t.jobId === jobId);
      if (error.code !== 'JOB_NOT_FOUND' && turn?.status === 'cancelling')
        updateTurn(set, get, turn.key, (t) => ({ ...t, status: 'failed', error }));
    }
  }
}

/** The question the explorer and the timings show: the one picked, else the latest that started. */
/** The questions the explorer can show: running ones, and those whose pre-fill reported anything. */
export function explorableTurns(state: Pick<AppState, 'conversation' | 'captures'>): AskTurn[] {
  return state.conversation.turns.filter((t) => {
    if (isActive(t)) return true;
    const capture = state.captures.get(t.jobId);
    return capture !== undefined && (capture.heads.size > 0 || capture.heatmaps.size > 0);
  });
}

/** The question the explorer shows: the one picked, else the latest it can show. */
export function shownTurn(
  state: Pick<AppState, 'conversation' | 'explorer' | 'captures'>,
): AskTurn | undefined {
  const turns = explorableTurns(state);
  const key = state.explorer.turnKey;
  if (key !== null) return turns.find((t) => t.key === key);
  return turns.at(-1);
}

/**
 * What a question is about: the open video, or, while none is open and the bundled demo model answers, its bundled
 * demo video (the engine picks it when the question names no video). Null when there is nothing to ask about.
 */
export function askTarget(state: Pick<AppState, 'video' | 'model'>): { path: string; demo: boolean } | null {
  const { video, model } = state;
  if (video.status === 'ready') return { path: video.meta.path, demo: false };
  if (video.status === 'empty' && model.status === 'ready' && model.choice.embedded && model.choice.demoVideo)
    return { path: model.choice.demoVideo, demo: true };
  return null;
}
