import type { EmitEvent, EventName } from '../../app/contract/contract.js';
import { newJobId } from '../../app/contract/job-id.js';

/** How a watched job's outcome is settled. */
export interface Settle<Result> {
  resolve(result: Result): void;
  reject(err: unknown): void;
}

/**
 * Routes the context's events to the jobs a command waits for, by id. Each job is started under an id of the
 * command's own, watched before the starting command is sent, so none of its events can come unseen.
 */
export abstract class JobEventRouter<Handlers, Result> {
  private readonly watches = new Map<string, Handlers & Settle<Result>>();

  readonly emit: EmitEvent = (event, payload) => {
    const jobId = (payload as { jobId?: string }).jobId;
    const watch = jobId === undefined ? undefined : this.watches.get(jobId);
    if (jobId === undefined || watch === undefined) return;
    this.deliver(watch, event, payload);
    if (event === 'job.done' || event === 'job.failed') this.watches.delete(jobId);
  };

  /**
   * Starts a job: watches a new id, then `send` sends the command that starts the job under it. Answers what the
   * command answered, and the job's result once done (rejected with its error when it fails).
   */
  async run<S>(
    send: (jobId: string) => Promise<S>,
    handlers: Handlers,
  ): Promise<{ started: S; result: Promise<Result> }> {
    let settle!: Settle<Result>;
    const result = new Promise<Result>((resolve, reject) => (settle = { resolve, reject }));
    const jobId = newJobId();
    this.watches.set(jobId, { ...handlers, ...settle });
    try {
      return { started: await send(jobId), result };
    } catch (err) {
      this.watches.delete(jobId);
      throw err;
    }
  }

  protected abstract deliver(watch: Handlers & Settle<Result>, event: EventName, payload: unknown): void;
}
