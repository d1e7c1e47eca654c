import { randomUUID } from 'node:crypto';
import type { EmitEvent } from '../../../app/contract/contract.js';
import { AppError, toErrorData } from '../../../app/contract/errors.js';
import type { JobResult } from '../../../app/contract/jobs.js';

// Long work with an id (docs/architecture.md §1): started by a command that answers at once, reported through job.progress,
// ended by exactly one job.done or job.failed (CANCELLED when stopped). A job stops when cancelled by id, when the
// caller that started it goes away (its signal), or when the services close.

export interface JobControl {
  readonly jobId: string;
  readonly signal: AbortSignal;
  /** Reports progress; sent at most every `progressIntervalMs`, except the last step which is always sent. */
  progress(done: number, total: number, message?: string): void;
}

export type JobRun = (job: JobControl) => Promise<JobResult>;

const progressIntervalMs = 100;

export class JobRegistry {
  private readonly running = new Map<string, { controller: AbortController; finished: Promise<void> }>();

  /**
   * Starts `run`; its events go to `emit`; `callerSignal` (a window or socket going away) cancels it too. `id`: the
   * caller's name for the job (so it listens before the first event), else a new one.
   */
  start(run: JobRun, emit: EmitEvent, callerSignal?: AbortSignal, id?: string): string {
    if (id !== undefined && this.running.has(id)) {
      throw new AppError('JOB_ID_IN_USE', `A running job already has the id ${id}`);
    }
    const jobId = id ?? randomUUID();
    const controller = new AbortController();
    const signal = callerSignal ? AbortSignal.any([controller.signal, callerSignal]) : controller.signal;
    let lastSent = 0;
    const control: JobControl = {
      jobId,
      signal,
      progress: (done, total, message) => {
        const now = performance.now();
        if (done < total && now - lastSent < progressIntervalMs) return;
        lastSent = now;
        emit(
          'job.progress',
          message === undefined ? { jobId, done, total } : { jobId, done, total, message },
        );
      },
    };
    const finished = Promise.resolve()
      .then(() => run(control))
      .then(
        (result) => {
          if (signal.aborted) emit('job.failed', { jobId, error: cancelled() });
          else emit('job.done', { jobId, result });
        },
        (err: unknown) => {
          emit('job.failed', { jobId, error: signal.aborted ? cancelled() : toErrorData(err) });
        },
      )
      .finally(() => this.running.delete(jobId));
    this.running.set(jobId, { controller, finished });
    return jobId;
  }

  /** Cancels a running job; JOB_NOT_FOUND when no job with this id is running. Resolves once it has stopped. */
  async cancel(jobId: string): Promise<void> {
    const job = this.running.get(jobId);
    if (!job) throw new AppError('JOB_NOT_FOUND', `No running job ${jobId}`);
    job.controller.abort();
    await job.finished;
  }

  /** Cancels every running job and waits for all of them to end. */
  async cancelAll(): Promise<void> {
    const jobs = [...this.running.values()];
    for (const job of jobs) job.controller.abort();
    await Promise.all(jobs.map((job) => job.finished));
  }

  get size(): number {
    return this.running.size;
  }
}

function cancelled(): ReturnType<typeof toErrorData> {
  return { code: 'CANCELLED', message: 'Cancelled' };
}
