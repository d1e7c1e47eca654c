import type { EmitEvent, EventName, EventPayload } from '../../app/api/contract.js';
import { AppError } from '../../app/api/errors.js';
import type { JobResult } from '../../app/api/jobs.js';
import type { PatternProgress } from '../../app/api/patterns.js';

interface Watch {
  onProgress(progress: PatternProgress): void;
  resolve(result: JobResult): void;
  reject(err: unknown): void;
}

/** Routes the context's events to the pattern job waited for; events that arrive before its id is known wait. */
export class PatternJobs {
  private readonly watches = new Map<string, Watch>();
  private readonly early = new Map<string, Array<[EventName, unknown]>>();

  readonly emit: EmitEvent = (event, payload) => {
    const jobId = (payload as { jobId?: string }).jobId;
    if (jobId === undefined) return;
    const watch = this.watches.get(jobId);
    if (watch) this.deliver(watch, event, payload);
    else this.early.set(jobId, [...(this.early.get(jobId) ?? []), [event, payload]]);
  };

  /** The job's result once done; rejects with its job.failed error as an AppError. */
  wait(jobId: string, onProgress: (progress: PatternProgress) => void = () => undefined): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      const watch: Watch = { onProgress, resolve, reject };
      this.watches.set(jobId, watch);
      for (const [event, payload] of this.early.get(jobId) ?? []) this.deliver(watch, event, payload);
      this.early.delete(jobId);
    });
  }

  private deliver(watch: Watch, event: EventName, payload: unknown): void {
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
