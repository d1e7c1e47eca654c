import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventName, EventPayload } from '../../app/contract/contract.js';
import { thumbnailUrl, videoUrl } from '../../app/contract/media.js';
import { defaultSamplingOptions } from '../../app/domain/sampling.js';
import {
  createMediaHandler,
  createServices,
  dispatch,
  rootsPolicy,
  type ApiContext,
  type Services,
} from '../../main/dispatch/index.js';
import { engineHostEntry } from '../../main/services/engine/launcher.js';
import { liveChildPids } from '../../main/services/video/child-processes.js';
import { syntheticCacheDir } from '../../main/bench/synthetic.js';
import { addonPath } from '../../native/addon.js';
import { resolvedTools, syntheticVideo } from '../support/synthetic-videos.js';

const run = promisify(execFile);

type Recorded = { event: EventName; payload: EventPayload<EventName> };

let services: Services;
let events: Recorded[];
let ctx: ApiContext;
let caller: AbortController;

beforeAll(async () => {
  await Promise.all(
    (['normal', 'long', 'truncated', 'rotated'] as const).map((kind) => syntheticVideo(kind)),
  );
  services = createServices();
  events = [];
  caller = new AbortController();
  ctx = {
    services,
    files: await rootsPolicy([syntheticCacheDir()]),
    emit: (event, payload) => events.push({ event, payload }),
    signal: caller.signal,
  };
});
afterAll(() => services.close());

/** Resolves with the first recorded event that matches. */
function waitFor(match: (e: Recorded) => boolean): Promise<Recorded> {
  return new Promise((resolve) => {
    const check = (): void => {
      const found = events.find(match);
      if (found) resolve(found);
      else setImmediate(check);
    };
    check();
  });
}

const forJob = (jobId: string) => (e: Recorded) => (e.payload as { jobId?: string }).jobId === jobId;

describe('the API over real ffmpeg', () => {
  it('app.diagnostics shows the ffmpeg and ffprobe in use, with the versions they report', async () => {
    const outcome = await dispatch('app.diagnostics', {}, ctx);
    if (!outcome.ok) throw new Error(outcome.error.message);
    const result = outcome.result as {
      ffmpeg: { found: boolean; path: string; version: string };
      engine: { available: boolean };
    };
    const { ffmpeg } = await resolvedTools();
    const { stdout } = await run(ffmpeg.path, ['-version']);
    expect(result.ffmpeg.path).toBe(ffmpeg.path);
    expect(stdout.startsWith(result.ffmpeg.version)).toBe(true);
    // Available once both the addon and the engine host are built (`npm test` builds them before this suite).
    expect(result.engine.available).toBe(existsSync(addonPath()) && engineHostEntry() !== null);
  });

  it('video.decode runs as a job: progress up to the planned count, then job.done with exactly that many frames', async () => {
    const file = await syntheticVideo('normal');
    const outcome = await dispatch('video.decode', { path: file, options: defaultSamplingOptions }, ctx);
    if (!outcome.ok) throw new Error(outcome.error.message);
    const { jobId, plan } = outcome.result as {
      jobId: string;
      plan: { times: number[]; width: number; height: number };
    };
    const done = await waitFor(
      (e) => forJob(jobId)(e) && (e.event === 'job.done' || e.event === 'job.failed'),
    );
    expect(done.event).toBe('job.done');
    const summary = (done.payload as { result: { summary: Record<string, number> } }).result.summary;
    expect(summary.frames).toBe(plan.times.length);
    expect(summary.bytes).toBe(plan.times.length * plan.width * plan.height * 3);
    const progress = events
      .filter((e) => forJob(jobId)(e) && e.event === 'job.progress')
      .map((e) => e.payload as { done: number; total: number });
    expect(progress.at(-1)).toEqual({ jobId, done: plan.times.length, total: plan.times.length });
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]?.done).toBeGreaterThanOrEqual(progress[i - 1]?.done ?? 0);
  });

  it('job.cancel stops a running decode: job.failed CANCELLED and no ffmpeg left', async () => {
    const file = await syntheticVideo('long');
    const before = new Set(liveChildPids());
    const outcome = await dispatch('video.decode', { path: file, options: defaultSamplingOptions }, ctx);
    if (!outcome.ok) throw new Error(outcome.error.message);
    const { jobId } = outcome.result as { jobId: string };
    await waitFor(
      (e) => forJob(jobId)(e) && e.event === 'job.progress' && (e.payload as { done: number }).done > 0,
    );
    const running = liveChildPids().filter((pid) => !before.has(pid));
    expect(running).toHaveLength(1);
    const cancelled = await dispatch('job.cancel', { jobId }, ctx);
    expect(cancelled).toEqual({ ok: true, result: {} });
    const end = events.filter(
      (e) => forJob(jobId)(e) && (e.event === 'job.done' || e.event === 'job.failed'),
    );
    expect(end).toEqual([
      { event: 'job.failed', payload: { jobId, error: { code: 'CANCELLED', message: 'Cancelled' } } },
    ]);
    expect(liveChildPids().filter((pid) => running.includes(pid))).toEqual([]);
  });

  it('a decode of a truncated file ends with job.failed CORRUPT_MEDIA', async () => {
    const outcome = await dispatch(
      'video.decode',
      { path: await syntheticVideo('truncated'), options: defaultSamplingOptions },
      ctx,
    );
    if (!outcome.ok) throw new Error(outcome.error.message);
    const { jobId } = outcome.result as { jobId: string };
    const end = await waitFor(
      (e) => forJob(jobId)(e) && (e.event === 'job.done' || e.event === 'job.failed'),
    );
    expect(end.event).toBe('job.failed');
    expect((end.payload as { error: { code: string } }).error.code).toBe('CORRUPT_MEDIA');
  });

  it('files.list browses the allowed root and refuses the rest', async () => {
    const root = syntheticCacheDir();
    const listing = await dispatch('files.list', { dir: root }, ctx);
    if (!listing.ok) throw new Error(listing.error.message);
    const names = (listing.result as { entries: Array<{ name: string }> }).entries.map((e) => e.name);
    expect(names).toContain(path.basename(await syntheticVideo('normal')));
    const outside = await dispatch('files.list', { dir: path.dirname(root) }, ctx);
    expect(outside.ok ? null : outside.error.code).toBe('NOT_ALLOWED');
    const probeOutside = await dispatch('video.probe', { path: '/etc/hostname' }, ctx);
    expect(probeOutside.ok ? null : probeOutside.error.code).toBe('NOT_ALLOWED');
  });
});

describe('media handler', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(path.join(os.tmpdir(), 'mmi-media-'));
  });
  afterAll(() => rm(scratch, { recursive: true, force: true }));

  const get = (url: string, headers: Record<string, string> = {}): Promise<Response> =>
    createMediaHandler(services, ctx.files)(new Request(new URL(url, 'http://127.0.0.1:1'), { headers }));

  it('serves a thumbnail as a JPEG of the asked height (width keeps the displayed aspect)', async () => {
    const file = await syntheticVideo('rotated');
    const response = await get(thumbnailUrl(file, 1, 100));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = Buffer.from(await response.arrayBuffer());
    const out = path.join(scratch, 'thumb.jpg');
    await writeFile(out, jpeg);
    const { ffprobe } = await resolvedTools();
    const { stdout } = await run(ffprobe.path, [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_name,width,height',
      '-of',
      'json',
      out,
    ]);
    const stream = (
      JSON.parse(stdout) as { streams: Array<{ codec_name: string; width: number; height: number }> }
    ).streams[0];
    // Displayed 240×320 (rotated): 100 high → 75 wide, rounded to an even 76 or 74.
    expect(stream).toMatchObject({ codec_name: 'mjpeg', height: 100 });
    expect(Math.abs((stream?.width ?? 0) - 75)).toBeLessThanOrEqual(1);
  });

  it('clamps a time past the end to the last frame', async () => {
    const response = await get(thumbnailUrl(await syntheticVideo('normal'), 3600, 60));
    expect(response.status).toBe(200);
  });

  it('serves the video bytes with Range', async () => {
    const file = await syntheticVideo('normal');
    const response = await get(videoUrl(file), { range: 'bytes=0-15' });
    expect(response.status).toBe(206);
    const { readFile } = await import('node:fs/promises');
    expect(Buffer.from(await response.arrayBuffer()).equals((await readFile(file)).subarray(0, 16))).toBe(
      true,
    );
  });

  it('refuses files outside the policy, bad queries and unknown routes with JSON errors', async () => {
    const denied = await get(videoUrl('/etc/hostname'));
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ code: 'NOT_ALLOWED' });
    const bad = await get(
      `/api/media/thumbnail?path=${encodeURIComponent(await syntheticVideo('normal'))}&t=-3`,
    );
    expect(bad.status).toBe(400);
    expect((await get('/api/media/nothing')).status).toBe(404);
    const notMedia = await get(thumbnailUrl(path.join(syntheticCacheDir(), 'missing.mp4'), 1));
    expect(notMedia.status).toBe(404);
  });
});
