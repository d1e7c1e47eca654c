import type { EngineHostStatus, ModelChoice, ModelInfo } from '../../../app/contract/engine.js';
import { toErrorData, type AppErrorData } from '../../../app/contract/errors.js';
import type { StoreApi } from 'zustand/vanilla';
import type { HostBridge } from '../bridge/bridge.js';
import { defaultCapture } from './ask-slice.js';
import { listFolder, type BrowserState } from './folders.js';
import type { AppState } from './store.js';

// The model questions go to (a folder the user chose, or the bundled demo model), checking a folder before
// choosing it, and the engine process's state. All of it is the engine's to say; this is its replica.

export type ModelState =
  | { status: 'loading' }
  | { status: 'ready'; choice: ModelChoice }
  | { status: 'failed'; error: AppErrorData };

export type InspectionState =
  | { status: 'idle' }
  | { status: 'inspecting'; dir: string }
  | { status: 'ready'; dir: string; info: ModelInfo }
  | { status: 'failed'; dir: string; error: AppErrorData };

export type ChoosingState =
  | { status: 'idle' }
  | { status: 'choosing'; dir: string | null }
  | { status: 'failed'; dir: string | null; error: AppErrorData };

export type EngineView =
  | { status: 'unknown' }
  | { status: 'ready'; host: EngineHostStatus }
  | { status: 'failed'; error: AppErrorData };

export interface ModelSlice {
  model: ModelState;
  inspection: InspectionState;
  choosing: ChoosingState;
  engine: EngineView;
  engineRestarting: boolean;
  /** The web host's folder browser for model folders (separate from the video browser's place). */
  modelBrowser: BrowserState;
  loadModel(): Promise<void>;
  /** Reads a folder without choosing it; the answer shows what was found or what is wrong. */
  inspectModel(dir: string): Promise<void>;
  /** dir null: back to the bundled demo model. patterns: a pattern file, or null for none. */
  chooseModel(dir: string | null, patterns?: string | null): Promise<void>;
  browseModels(dir?: string): Promise<void>;
  refreshEngine(): Promise<void>;
  restartEngine(): Promise<void>;
}

type SetState = StoreApi<AppState>['setState'];
type GetState = StoreApi<AppState>['getState'];

export function createModelSlice(bridge: HostBridge, set: SetState, get: GetState): ModelSlice {
  return {
    model: { status: 'loading' },
    inspection: { status: 'idle' },
    choosing: { status: 'idle' },
    engine: { status: 'unknown' },
    engineRestarting: false,
    modelBrowser: { status: 'idle' },

    async loadModel() {
      try {
        const choice = await bridge.call('model.current', {});
        set({
          model: { status: 'ready', choice },
          askOptions: { ...get().askOptions, heatmaps: defaultCapture(choice.info) },
        });
      } catch (err) {
        set({ model: { status: 'failed', error: toErrorData(err) } });
      }
      // Reading the model may have started the engine process (or found it missing): show how it is now.
      void get().refreshEngine();
    },

    async inspectModel(dir) {
      set({ inspection: { status: 'inspecting', dir } });
      try {
        const info = await bridge.call('model.inspect', { dir });
        if (isInspecting(get().inspection, dir)) set({ inspection: { status: 'ready', dir, info } });
      } catch (err) {
        if (isInspecting(get().inspection, dir))
          set({ inspection: { status: 'failed', dir, error: toErrorData(err) } });
      }
    },

    async chooseModel(dir, patterns) {
      if (get().choosing.status === 'choosing') return;
      set({ choosing: { status: 'choosing', dir } });
      try {
        const choice = await bridge.call(
          'model.choose',
          patterns === undefined ? { dir } : { dir, patterns },
        );
        // Answers of another model do not continue this analysis.
        get().resetConversation();
        set({
          model: { status: 'ready', choice },
          choosing: { status: 'idle' },
          inspection: { status: 'idle' },
          askOptions: { ...get().askOptions, heatmaps: defaultCapture(choice.info) },
        });
      } catch (err) {
        set({ choosing: { status: 'failed', dir, error: toErrorData(err) } });
      }
      void get().refreshEngine();
    },

    async browseModels(dir) {
      set({ modelBrowser: { status: 'loading', dir: dir ?? null } });
      try {
        set({ modelBrowser: { status: 'ready', listing: await listFolder(bridge, dir) } });
      } catch (err) {
        set({ modelBrowser: { status: 'failed', dir: dir ?? null, error: toErrorData(err) } });
      }
    },

    async refreshEngine() {
      try {
        const host = await bridge.call('engine.status', {});
        // Polled: only a change re-renders.
        const { engine, model } = get();
        if (engine.status !== 'ready' || !sameJson(engine.host, host))
          set({ engine: { status: 'ready', host } });
        // The engine's current model is the truth (a restart may have brought the default back).
        if (host.model !== null && (model.status !== 'ready' || !sameJson(model.choice, host.model)))
          set({ model: { status: 'ready', choice: host.model } });
      } catch (err) {
        const error = toErrorData(err);
        const engine = get().engine;
        if (engine.status !== 'failed' || !sameJson(engine.error, error))
          set({ engine: { status: 'failed', error } });
      }
    },

    async restartEngine() {
      if (get().engineRestarting) return;
      set({ engineRestarting: true });
      try {
        set({ engine: { status: 'ready', host: await bridge.call('engine.restart', {}) } });
      } catch (err) {
        set({ engine: { status: 'failed', error: toErrorData(err) } });
      } finally {
        set({ engineRestarting: false });
      }
    },
  };
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function isInspecting(state: InspectionState, dir: string): boolean {
  return state.status === 'inspecting' && state.dir === dir;
}
