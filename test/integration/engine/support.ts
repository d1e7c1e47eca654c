// The app's API with the real engine host behind it, for the engine's integration tests: one services instance,
// a context whose events are recorded, and helpers to run commands and wait for a job's outcome.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { AppError } from '../../../app/contract/errors.js';
import type { AskResult } from '../../../app/contract/engine.js';
import { engineHostEntry } from '../../../main/services/engine/launcher.js';
import { fixturesDir } from '../../support/preprocess-tables.js';
import { recordedApi, type RecordedApi } from '../../support/recorded-api.js';
import { resolvedTools } from '../../support/synthetic-videos.js';

export interface Api extends Omit<RecordedApi, 'outcome'> {
  /** Resolves with the ask's result, or rejects with its job.failed error as an AppError. */
  outcome(jobId: string): Promise<AskResult>;
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
  const api = await recordedApi({ engine: { threads: 2 } });
  return {
    ...api,
    async outcome(jobId) {
      const result = await api.outcome(jobId);
      if (result.kind !== 'engine.ask') throw new Error(`unexpected result ${result.kind}`);
      return result.answer;
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
