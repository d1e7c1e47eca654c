import type { EmitEvent, EventName } from '../../app/api/contract.js';

/**
 * Routes the context's events to the job a command waits for, by the job's id. A job's first events may come
 * before the command's answer tells its id: they wait and go to the job's watch as soon as it is set.
 */
export abstract class JobEventRouter<Watch> {
  private readonly watches = new Map<string, Watch>();
  private readonly early = new Map<string, Array<[EventName, unknown]>>();

  readonly emit: EmitEvent = (event, payload) => {
    const jobId = (payload as { jobId?: string }).jobId;
    if (jobId === undefined) return;
    const watch = this.watches.get(jobId);
    if (watch) this.deliver(watch, event, payload);
    else this.early.set(jobId, [...(this.early.get(jobId) ?? []), [event, payload]]);
  };

  /** Sets the job's watch and hands it the events that came before. */
  protected watch(jobId: string, watch: Watch): void {
    this.watches.set(jobId, watch);
    for (const [event, payload] of this.early.get(jobId) ?? []) this.deliver(watch, event, payload);
    this.early.delete(jobId);
  }

  protected abstract deliver(watch: Watch, event: EventName, payload: unknown): void;
}
