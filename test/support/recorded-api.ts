// The app's API over real services, for the integration suites: a context whose events are recorded, a command
// called as the transports call it, and a job's outcome as its result or its error.
import path from 'node:path';

import type {
  CommandName,
  CommandParams,
  CommandResult,
  EventName,
  EventPayload,
} from '../../app/contract/contract.js';
import { AppError } from '../../app/contract/errors.js';
import type { JobResult } from '../../app/contract/jobs.js';
import { dispatch, type ApiContext } from '../../main/dispatch/index.js';
import { rootsPolicy } from '../../main/services/files/policy.js';
import { createServices, type Services, type ServicesOptions } from '../../main/services/services.js';

export interface Recorded {
  event: EventName;
  payload: unknown;
}

export interface RecordedApi {
  services: Services;
  ctx: ApiContext;
  events: Recorded[];
  call<K extends CommandName>(method: K, params: CommandParams<K>): Promise<CommandResult<K>>;
  /** Resolves with the job's result, or rejects with its job.failed error as an AppError. */
  outcome(jobId: string): Promise<JobResult>;
  /** The job's events of one kind, in order. */
  of<K extends EventName>(jobId: string, event: K): EventPayload<K>[];
  /** Calls `listener` with each later event. */
  listen(listener: (r: Recorded) => void): () => void;
  close(): Promise<void>;
}

/** Services made with `options`, every file of the machine readable. */
export async function recordedApi(options: ServicesOptions): Promise<RecordedApi> {
  const services = createServices(options);
  const events: Recorded[] = [];
  const listeners = new Set<(r: Recorded) => void>();
  const controller = new AbortController();
  const ctx: ApiContext = {
    services,
    files: await rootsPolicy([path.parse(process.cwd()).root]),
    emit: (event, payload) => {
      const r = { event, payload };
      events.push(r);
      for (const l of listeners) l(r);
    },
    signal: controller.signal,
  };
  const jobOf = (r: Recorded): string | undefined => (r.payload as { jobId?: string }).jobId;
  const listen = (listener: (r: Recorded) => void): (() => void) => {
    listeners.add(listener);
    return () => listeners.delete(listener);
  };
  return {
    services,
    ctx,
    events,
    async call(method, params) {
      const outcome = await dispatch(method, params, ctx);
      if (!outcome.ok) throw AppError.fromData(outcome.error);
      return outcome.result as CommandResult<typeof method>;
    },
    outcome(jobId) {
      return new Promise((resolve, reject) => {
        const settle = (r: Recorded): boolean => {
          if (jobOf(r) !== jobId) return false;
          if (r.event === 'job.done') resolve((r.payload as EventPayload<'job.done'>).result);
          else if (r.event === 'job.failed')
            reject(AppError.fromData((r.payload as EventPayload<'job.failed'>).error));
          else return false;
          return true;
        };
        if (events.some(settle)) return;
        const stop = listen((r) => {
          if (settle(r)) stop();
        });
      });
    },
    of(jobId, event) {
      return events.filter((r) => r.event === event && jobOf(r) === jobId).map((r) => r.payload) as never;
    },
    listen,
    async close() {
      controller.abort();
      await services.close();
    },
  };
}
