import type {
  CommandName,
  CommandParams,
  CommandResult,
  EventName,
  EventPayload,
} from '../../app/contract/contract.js';
import type { HostBridge } from '../../renderer/src/bridge/bridge.js';
import { createAppStore } from '../../renderer/src/state/store.js';
import { sampleMeta } from './sample-meta.js';

// The store against a scripted bridge: each call waits until the test answers it, events arrive when the test
// emits them, so orderings that are rare on a real host (a job ending before its start is answered) are exact.
// The store names its jobs (random ids); a test names them too ('ask-1'): the bridge maps the test's names to the
// store's, in what it answers and emits, and back in the calls it hands the test.

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
  const storeIds = new Map<string, string>();
  const testIds = new Map<string, string>();
  const name = (testId: string, storeId: string) => {
    storeIds.set(testId, storeId);
    testIds.set(storeId, testId);
  };
  const withJobId = <T>(value: T, map: Map<string, string>): T => {
    const jobId = (value as { jobId?: unknown } | null)?.jobId;
    return typeof jobId === 'string' && map.has(jobId) ? { ...value, jobId: map.get(jobId) } : value;
  };
  const emit = <K extends EventName>(event: K, payload: EventPayload<K>) => {
    for (const listener of listeners.get(event) ?? []) listener(withJobId(payload, storeIds));
  };
  /** The oldest pending call of `method`; `jobName` names the job it starts, for the test's events. */
  const take = (method: CommandName, jobName?: string): PendingCall => {
    const index = calls.findIndex((c) => c.method === method);
    if (index < 0) throw new Error(`no pending ${method} call`);
    const call = calls.splice(index, 1)[0] as PendingCall;
    const chosen = (call.params as { jobId?: unknown }).jobId;
    if (jobName !== undefined && typeof chosen === 'string') name(jobName, chosen);
    return {
      ...call,
      params: withJobId(call.params, testIds),
      resolve(value) {
        const answered = (value as { jobId?: unknown } | null)?.jobId;
        if (typeof answered === 'string' && typeof chosen === 'string' && !storeIds.has(answered))
          name(answered, chosen);
        call.resolve(withJobId(value, storeIds));
      },
    };
  };
  // Frames the store asked for, run when the test "paints".
  const frames: (() => void)[] = [];
  const nextFrame = (apply: () => void) => void frames.push(apply);
  const paint = () => {
    for (const apply of frames.splice(0)) apply();
  };
  const count = (method: CommandName): number => calls.filter((c) => c.method === method).length;
  /** The store's id of the job the test named. */
  const jobIdOf = (testId: string): string => storeIds.get(testId) ?? testId;
  return { bridge, emit, take, count, calls, nextFrame, paint, jobIdOf };
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
