// The app's API with the real engine host behind it, for the engine's integration tests: one services instance,
// a context whose events are recorded, and helpers to run commands and wait for a job's outcome.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import type {
  CommandName,
  CommandParams,
  CommandResult,
  EventName,
  EventPayload,
} from '../../../app/api/contract.js';
import { AppError, type AppErrorData } from '../../../app/api/errors.js';
import type { AskResult } from '../../../app/api/engine.js';
import { dispatch, type ApiContext } from '../../../main/api/index.js';
import { rootsPolicy } from '../../../main/services/files/policy.js';
import { engineHostEntry } from '../../../main/services/engine/launcher.js';
import { createServices, type Services } from '../../../main/services/services.js';
import { fixturesDir } from '../../unit/qwen2_5_vl/fixture.js';
import { resolvedTools } from '../../support/synthetic-videos.js';

export interface Recorded {
  event: EventName;
  payload: unknown;
}

export interface Api {
  services: Services;
  ctx: ApiContext;
  events: Recorded[];
  call<K extends CommandName>(method: K, params: CommandParams<K>): Promise<CommandResult<K>>;
  /** Resolves with the ask's result, or rejects with its job.failed error as an AppError. */
  outcome(jobId: string): Promise<AskResult>;
  /** The job's events of one kind, in order. */
  of<K extends EventName>(jobId: string, event: K): EventPayload<K>[];
  /** Calls `listener` with each later event. */
  listen(listener: (r: Recorded) => void): () => void;
  close(): Promise<void>;
}

/** The engine host runs from the compiled sources (`npm run build:ts`, which `npm test` runs first). */
export function requireBuiltHost(): void {
  if (engineHostEntry() === null) {
    throw new Error(
      'The engine host is not built: run `npm run build:ts` before the engine integration tests',
    );
  }
}

export async function createApi(): Promise<Api> {
  requireBuiltHost();
  const services = createServices({ engine: { threads: 2 } });
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
          if (r.event === 'job.done') {
            const { result } = r.payload as EventPayload<'job.done'>;
            if (result.kind === 'engine.ask') resolve(result.answer);
            else reject(new Error(`unexpected result ${result.kind}`));
            return true;
          }
          if (r.event === 'job.failed') {
            reject(AppError.fromData((r.payload as { error: AppErrorData }).error));
            return true;
          }
          return false;
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

export async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`);
  return err;
}

export const tinyA = path.join(fixturesDir, 'tiny-a', 'model');

/** tiny-a's reference frames (6 × 84 × 140 RGB at 2 fps) as a lossless FFV1 video: decoding gives them back exactly. */
export async function fixtureVideo(file: string): Promise<void> {
  const bytes = readFileSync(path.join(fixturesDir, 'tiny-a', 'reference.safetensors'));
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<
    string,
    { data_offsets: [number, number]; shape: number[] }
  >;
  const frames = header.frames!;
  const [, height, width] = frames.shape as [number, number, number, number];
  const rgb = bytes.subarray(
    8 + headerLength + frames.data_offsets[0],
    8 + headerLength + frames.data_offsets[1],
  );
  const { ffmpeg } = await resolvedTools();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      ffmpeg.path,
      [
        ...['-hide_banner', '-loglevel', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24'],
        ...['-s', `${width}x${height}`, '-r', '2', '-i', 'pipe:0', '-c:v', 'ffv1', '-pix_fmt', 'bgr0', file],
      ],
      { stdio: ['pipe', 'ignore', 'inherit'] },
    );
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited ${code}`))));
    child.stdin.end(rgb);
  });
}

/** A question of many tokens (about 9 500 with tiny-a's tokenizer): each dense pre-fill layer takes a while. */
export function longQuestion(): string {
  const words = ['red', 'square', 'moves', 'left', 'the', 'a', 'circle', 'blue', 'counter', 'video'];
  let seed = 1;
  const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  return Array.from({ length: 3300 }, () => words[next() % words.length]).join(' ');
}
