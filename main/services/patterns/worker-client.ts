import { existsSync } from 'node:fs';
import { AppError } from '../../../app/contract/errors.js';
import type { EngineExit, EngineLauncher } from '../engine/launcher.js';
import { resourcePaths } from '../resources.js';
import {
  FromWorkerSchema,
  type WorkerJob,
  type WorkerProgress,
  type WorkerResult,
} from './worker-protocol.js';

// Runs one pattern job in a worker process of its own: starts it, sends the job once it is ready, hands its
// progress on, and settles with its outcome. Cancelling asks the worker to stop (the engine checks between layers
// and heads) and kills it if it has not ended soon after. A worker that dies without an outcome fails the job with
// ENGINE_CRASHED and its last stderr; messages that do not parse are dropped. A job ends only once its worker has
// exited (killed if it lingers after its outcome), so no finished job leaves a process behind.

const startTimeoutMs = 60_000;
const cancelGraceMs = 10_000;
const exitGraceMs = 5_000;

/** The compiled worker entry (dist/ of the app folder), or null when it is not built. */
export function patternWorkerEntry(): string | null {
  const entry = resourcePaths().patternWorker;
  return existsSync(entry) ? entry : null;
}

function describe(exit: EngineExit): string {
  if (exit.signal) return ` (signal ${exit.signal})`;
  if (exit.code !== null) return ` (exit code ${exit.code})`;
  return '';
}

export function runWorker(
  launcher: EngineLauncher,
  entry: string | null,
  job: WorkerJob,
  onProgress: (progress: WorkerProgress) => void,
  signal: AbortSignal,
): Promise<WorkerResult> {
  if (entry === null) {
    return Promise.reject(
      new AppError(
        'ENGINE_UNAVAILABLE',
        'The pattern worker is not built (no dist/main/services/patterns/worker-main.js): run `npm run build:ts`',
      ),
    );
  }
  if (signal.aborted) return Promise.reject(new AppError('CANCELLED', 'Cancelled'));
  return new Promise<WorkerResult>((resolve, reject) => {
    const worker = launcher(entry);
    let settled = false;
    let ready = false;
    /** What the worker reported; the job settles with it once the worker has exited. */
    let outcome: (() => void) | null = null;
    const timers: NodeJS.Timeout[] = [];
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      signal.removeEventListener('abort', cancel);
      outcome();
    };
    const cancel = (): void => {
      worker.send({ type: 'cancel' });
      timers.push(setTimeout(() => worker.kill(), cancelGraceMs));
    };
    timers.push(
      setTimeout(() => {
        if (ready) return;
        settle(() => reject(new AppError('ENGINE_UNAVAILABLE', 'The pattern worker did not start in time')));
        worker.kill();
      }, startTimeoutMs),
    );
    const reported = (then: () => void): void => {
      outcome = then;
      signal.removeEventListener('abort', cancel);
      timers.push(setTimeout(() => worker.kill(), exitGraceMs));
    };
    signal.addEventListener('abort', cancel, { once: true });
    worker.onMessage((raw) => {
      const parsed = FromWorkerSchema.safeParse(raw);
      if (!parsed.success || settled || outcome !== null) return;
      const message = parsed.data;
      switch (message.type) {
        case 'ready':
          ready = true;
          worker.send({ type: 'run', job });
          return;
        case 'progress':
          onProgress(message.progress);
          return;
        case 'done':
          reported(() => resolve(message.result));
          return;
        case 'failed':
          reported(() => reject(AppError.fromData(message.error)));
          return;
      }
    });
    worker.onExit((exit) => {
      const crashed = (): void =>
        reject(
          signal.aborted
            ? new AppError('CANCELLED', 'Cancelled')
            : new AppError(
                'ENGINE_CRASHED',
                `The pattern worker stopped unexpectedly${describe(exit)}`,
                exit.stderr.trim() || undefined,
              ),
        );
      settle(outcome ?? crashed);
    });
  });
}
