import type { StoreApi } from 'zustand/vanilla';
import type { AskProgress, AskStage } from '../../../app/contract/engine.js';
import type { HostBridge } from '../bridge/bridge.js';
import { updateTurn, type AskTurn } from './ask-slice.js';
import type { Captures } from './captures.js';
import { frameBatch, type FrameScheduler } from './frame-batch.js';
import type { AppState } from './store.js';

// Applies an ask job's events to its turn. Progress and answer tokens arrive far faster than a screen repaints:
// they are collected and applied once per frame, so a long answer streams without freezing the page; a job's
// outcome applies whatever is still waiting first. A question's job id is chosen before engine.ask is sent, so
// every event finds its turn, also those that come before engine.ask's answer.

export interface AskEvents {
  /** Starts listening; call once, after the store exists. */
  attach(store: StoreApi<AppState>): void;
}

interface Pending {
  progress: Map<AskStage, AskProgress>;
  text: string;
  tokens: number;
}

export function createAskEvents(
  bridge: HostBridge,
  captures: Captures,
  nextFrame: FrameScheduler,
): AskEvents {
  let store: StoreApi<AppState> | null = null;
  const pending = new Map<string, Pending>();

  const turnOf = (jobId: string): AskTurn | undefined =>
    store?.getState().conversation.turns.find((t) => t.jobId === jobId);

  /** Applies an event of `jobId` if it belongs to a question (others are another client's, or of a dropped one). */
  const route = (jobId: string, apply: () => void): void => {
    if (turnOf(jobId)) apply();
  };

  const pendingOf = (jobId: string): Pending => {
    let p = pending.get(jobId);
    if (!p) {
      p = { progress: new Map(), text: '', tokens: 0 };
      pending.set(jobId, p);
    }
    return p;
  };

  const flush = (): void => {
    if (!store) return;
    const { setState, getState } = store;
    for (const [jobId, p] of pending) {
      const turn = turnOf(jobId);
      if (!turn) continue;
      updateTurn(setState, getState, turn.key, (t) => {
        const stages = { ...t.stages };
        let stage = t.stage;
        for (const event of p.progress.values()) {
          stages[event.stage] = { done: event.done, total: event.total };
          stage = event.stage;
        }
        return { ...t, stages, stage, answer: t.answer + p.text, tokens: Math.max(t.tokens, p.tokens) };
      });
    }
    pending.clear();
  };
  const batch = frameBatch(nextFrame, flush);

  const finish = (jobId: string, change: (turn: AskTurn) => AskTurn): void => {
    batch.now();
    captures.flush();
    const turn = turnOf(jobId);
    if (!store || !turn) return;
    updateTurn(store.setState, store.getState, turn.key, change);
    void store.getState().refreshEngine();
  };

  return {
    attach(attached) {
      store = attached;
      bridge.on('engine.progress', (event) =>
        route(event.jobId, () => {
          pendingOf(event.jobId).progress.set(event.stage, event);
          batch.schedule();
        }),
      );
      bridge.on('engine.token', (event) =>
        route(event.jobId, () => {
          const p = pendingOf(event.jobId);
          p.text += event.text;
          p.tokens = Math.max(p.tokens, event.index + 1);
          batch.schedule();
        }),
      );
      bridge.on('engine.head', (report) => route(report.jobId, () => captures.addHead(report)));
      bridge.on('engine.heatmap', (event) => route(event.jobId, () => captures.addHeatmap(event)));
      bridge.on('job.done', ({ jobId, result }) => {
        if (result.kind !== 'engine.ask') return;
        const { answer } = result;
        route(jobId, () => {
          // Answered: follow-ups continue this conversation.
          if (store)
            store.setState({ conversation: { ...store.getState().conversation, id: answer.conversationId } });
          finish(jobId, (t) => ({
            ...t,
            status: 'done',
            answer: answer.answer,
            tokens: answer.tokens.length,
            result: answer,
          }));
        });
      });
      bridge.on('job.failed', ({ jobId, error }) =>
        route(jobId, () =>
          finish(jobId, (t) =>
            error.code === 'CANCELLED' ? { ...t, status: 'cancelled' } : { ...t, status: 'failed', error },
          ),
        ),
      );
    },
  };
}
