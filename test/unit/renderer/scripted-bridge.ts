import type {
  CommandName,
  CommandParams,
  CommandResult,
  EventName,
  EventPayload,
} from '../../../app/api/contract.js';
import type { HostBridge } from '../../../renderer/src/bridge/bridge.js';
import { createAppStore } from '../../../renderer/src/state/store.js';
import { sampleMeta } from './sample-meta.js';

// The store against a scripted bridge: each call waits until the test answers it, events arrive when the test
// emits them, so orderings that are rare on a real host (a job ending before its start is answered) are exact.

interface PendingCall {
  method: CommandName;
  params: unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export function scriptedBridge() {
  const calls: PendingCall[] = [];
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const bridge: HostBridge = {
    host: 'web',
    call<K extends CommandName>(method: K, params: CommandParams<K>): Promise<CommandResult<K>> {
      return new Promise((resolve, reject) =>
        calls.push({ method, params, resolve: resolve as (value: unknown) => void, reject }),
      );
    },
    on<K extends EventName>(event: K, listener: (payload: EventPayload<K>) => void) {
      const set = listeners.get(event) ?? new Set();
      set.add(listener as (payload: unknown) => void);
      listeners.set(event, set);
      return () => set.delete(listener as (payload: unknown) => void);
    },
    resolveUrl: (p) => p,
    onConnection: (listener) => {
      listener('open');
      return () => undefined;
    },
  };
  const emit = <K extends EventName>(event: K, payload: EventPayload<K>) => {
    for (const listener of listeners.get(event) ?? []) listener(payload);
  };
  const take = (method: CommandName): PendingCall => {
    const index = calls.findIndex((c) => c.method === method);
    if (index < 0) throw new Error(`no pending ${method} call`);
    return calls.splice(index, 1)[0] as PendingCall;
  };
  // Frames the store asked for, run when the test "paints".
  const frames: (() => void)[] = [];
  const nextFrame = (apply: () => void) => void frames.push(apply);
  const paint = () => {
    for (const apply of frames.splice(0)) apply();
  };
  const count = (method: CommandName): number => calls.filter((c) => c.method === method).length;
  return { bridge, emit, take, count, calls, nextFrame, paint };
}

/** A store on a scripted bridge with sampleMeta's video open. */
export async function openReady() {
  const script = scriptedBridge();
  const store = createAppStore(script.bridge, script.nextFrame);
  const opened = store.getState().openVideo('/v.mp4');
  script.take('video.probe').resolve(sampleMeta);
  await opened;
  return { ...script, store };
}
