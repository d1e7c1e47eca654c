import type { EventName, EventPayload } from '../../app/api/contract.js';
import { AppError } from '../../app/api/errors.js';
import type { JobResult } from '../../app/api/jobs.js';
import type { PatternProgress } from '../../app/api/patterns.js';
import { JobEventRouter } from './job-events.js';

interface Watch {
  onProgress(progress: PatternProgress): void;
  resolve(result: JobResult): void;
  reject(err: unknown): void;
}

/** Routes the context's events to the pattern job waited for. */
export class PatternJobs extends JobEventRouter<Watch> {
  /** The job's result once done; rejects with its job.failed error as an AppError. */
  wait(jobId: string, onProgress: (progress: PatternProgress) => void = () => undefined): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      this.watch(jobId, { onProgress, resolve, reject });
    });
  }

  protected deliver(watch: Watch, event: EventName, payload: unknown): void {
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
