import { describe, expect, it } from 'vitest';
import type { EventName, EventPayload } from '../../../../../app/contract/contract.js';
import { AppError } from '../../../../../app/contract/errors.js';
import { CallerJobIdSchema, newJobId, type JobResult } from '../../../../../app/contract/jobs.js';
import { JobRegistry, type JobControl } from '../../../../../main/services/jobs/registry.js';

type Recorded = { event: EventName; payload: EventPayload<EventName> };

function recorder(): {
  events: Recorded[];
  emit: <K extends EventName>(event: K, payload: EventPayload<K>) => void;
} {
  const events: Recorded[] = [];
  return { events, emit: (event, payload) => events.push({ event, payload }) };
}

const result: JobResult = {
  kind: 'video.decode',
  summary: { frames: 2, width: 28, height: 28, bytes: 4704, elapsedSec: 0 },
};

/** Lets every running job finish on its own (no cancelling). */
async function settled(jobs: JobRegistry): Promise<void> {
  while (jobs.size > 0) await new Promise((resolve) => setImmediate(resolve));
}

/** A job that waits until released (or aborted), so a test controls when it ends. */
function gate(): {
  run: (job: JobControl) => Promise<JobResult>;
  release: () => void;
  started: Promise<JobControl>;
} {
  let release = (): void => undefined;
  let started = (_job: JobControl): void => undefined;
  const startedPromise = new Promise<JobControl>((resolve) => (started = resolve));
  return {
    started: startedPromise,
    release: () => release(),
    run: (job) =>
      new Promise<JobResult>((resolve, reject) => {
        started(job);
        release = () => resolve(result);
        job.signal.addEventListener('abort', () => reject(new AppError('CANCELLED', 'stopped')));
      }),
  };
}

describe('JobRegistry', () => {
  it('ends a job with one job.done carrying its result, and forgets it', async () => {
    const jobs = new JobRegistry();
    const { events, emit } = recorder();
    const g = gate();
    const jobId = jobs.start(g.run, emit);
    const control = await g.started;
    control.progress(1, 2);
    control.progress(2, 2);
    g.release();
    await settled(jobs);
    expect(events.map((e) => e.event)).toEqual(['job.progress', 'job.progress', 'job.done']);
    expect(events.at(-1)?.payload).toEqual({ jobId, result });
    expect(jobs.size).toBe(0);
  });

  it('cancel stops the job and it ends with job.failed CANCELLED', async () => {
    const jobs = new JobRegistry();
    const { events, emit } = recorder();
    const g = gate();
    const jobId = jobs.start(g.run, emit);
    await g.started;
    await jobs.cancel(jobId);
    expect(events).toEqual([
      { event: 'job.failed', payload: { jobId, error: { code: 'CANCELLED', message: 'Cancelled' } } },
    ]);
    await expect(jobs.cancel(jobId)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it('a caller that goes away cancels the jobs it started', async () => {
    const jobs = new JobRegistry();
    const { events, emit } = recorder();
    const caller = new AbortController();
    const g = gate();
    jobs.start(g.run, emit, caller.signal);
    await g.started;
    caller.abort();
    await jobs.cancelAll();
    expect(events.map((e) => e.event)).toEqual(['job.failed']);
    expect((events[0]?.payload as { error: { code: string } }).error.code).toBe('CANCELLED');
  });

  it('reports a failing job’s error as data', async () => {
    const jobs = new JobRegistry();
    const { events, emit } = recorder();
    const jobId = jobs.start(async () => {
      throw new AppError('CORRUPT_MEDIA', 'ended early: /v.mkv');
    }, emit);
    await settled(jobs);
    expect(events).toEqual([
      {
        event: 'job.failed',
        payload: { jobId, error: { code: 'CORRUPT_MEDIA', message: 'ended early: /v.mkv' } },
      },
    ]);
  });

  it('thins progress to a few events but always sends the last step', async () => {
    const jobs = new JobRegistry();
    const { events, emit } = recorder();
    jobs.start(async (job) => {
      for (let i = 1; i <= 1000; i++) job.progress(i, 1000);
      return result;
    }, emit);
    await settled(jobs);
    const progress = events
      .filter((e) => e.event === 'job.progress')
      .map((e) => (e.payload as { done: number }).done);
    expect(progress.length).toBeLessThan(10);
    expect(progress.at(-1)).toBe(1000);
  });

  it('runs a job under the id its caller chose, and refuses an id a running job has', async () => {
    const jobs = new JobRegistry();
    const { events, emit } = recorder();
    const id = newJobId();
    expect(CallerJobIdSchema.safeParse(id).success).toBe(true);
    const first = gate();
    expect(jobs.start(first.run, emit, undefined, id)).toBe(id);
    await first.started;
    expect(() => jobs.start(gate().run, emit, undefined, id)).toThrow(
      expect.objectContaining({ code: 'JOB_ID_IN_USE' }),
    );
    expect(jobs.size).toBe(1);
    first.release();
    await settled(jobs);
    expect(events.map((e) => [e.event, (e.payload as { jobId: string }).jobId])).toEqual([['job.done', id]]);
    // Ended, the id can name a new job.
    expect(jobs.start(async () => result, emit, undefined, id)).toBe(id);
    await settled(jobs);
    // Fresh ids do not repeat.
    expect(new Set(Array.from({ length: 1000 }, newJobId)).size).toBe(1000);
  });
});
