import type { EventName, EventPayload } from '../../app/contract/contract.js';
import { AppError } from '../../app/contract/errors.js';
import type { JobResult } from '../../app/contract/jobs.js';
import type { PatternProgress } from '../../app/contract/patterns.js';
import { JobEventRouter, type Settle } from './job-events.js';

interface Handlers {
  onProgress(progress: PatternProgress): void;
}

/** Routes the context's events to the pattern jobs waited for. */
export class PatternJobs extends JobEventRouter<Handlers, JobResult> {
  protected deliver(watch: Handlers & Settle<JobResult>, event: EventName, payload: unknown): void {
    switch (event) {
      case 'patterns.progress':
        watch.onProgress(payload as EventPayload<'patterns.progress'>);
        return;
      case 'job.done':
        watch.resolve((payload as EventPayload<'job.done'>).result);
        return;
      case 'job.failed':
        watch.reject(AppError.fromData((payload as EventPayload<'job.failed'>).error));
        return;
      default:
        return;
    }
  }
}
