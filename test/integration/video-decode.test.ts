import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../app/contract/errors.js';
import type { SamplingPlan, VideoMeta } from '../../app/contract/video.js';
import { defaultSamplingOptions, planSampling } from '../../app/domain/sampling.js';
import { liveChildPids } from '../../main/services/video/child-processes.js';
import { decodeFrames, type DecodedFrame } from '../../main/services/video/decode.js';
import { probeVideo } from '../../main/services/video/probe.js';
import { createVideoTools, type VideoTools } from '../../main/services/video/tools.js';
import { syntheticVideo, type SyntheticKind } from '../support/synthetic-videos.js';

const run = promisify(execFile);

let tools: VideoTools;
let ffmpeg: string;
beforeAll(async () => {
  tools = createVideoTools();
  ffmpeg = (await tools.require()).ffmpeg.path;
});

async function collect(meta: VideoMeta, plan: SamplingPlan): Promise<DecodedFrame[]> {
  const frames: DecodedFrame[] = [];
  for await (const frame of decodeFrames(ffmpeg, meta, plan))
    frames.push({ ...frame, data: Buffer.from(frame.data) });
  return frames;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function centre(frame: { data: Buffer; width: number; height: number }): number {
  return frame.data[(Math.floor(frame.height / 2) * frame.width + Math.floor(frame.width / 2)) * 3] ?? -1;
}

/**
 * The reference for which source frame a decoded `indexed` frame is: every frame of the file through plain ffmpeg
 * with the same scale and colour conversion, no selection. Each source frame is a different flat grey, so its
 * centre value names it.
 */
async function indexByValue(file: string, width: number, height: number): Promise<Map<number, number>> {
  const { stdout } = await run(
    ffmpeg,
    [
      '-v',
      'error',
      '-i',
      file,
      '-vf',
      `scale=${width}:${height}:flags=bicubic,format=rgb24`,
      '-f',
      'rawvideo',
      '-',
    ],
    { encoding: 'buffer', maxBuffer: 1 << 28 },
  );
  const frameBytes = width * height * 3;
  const map = new Map<number, number>();
  for (let i = 0; i * frameBytes < stdout.length; i++) {
    const value = centre({ data: stdout.subarray(i * frameBytes, (i + 1) * frameBytes), width, height });
    expect(map.has(value)).toBe(false);
    map.set(value, i);
  }
  return map;
}

function meanOf(frame: DecodedFrame, x0: number, y0: number, x1: number, y1: number): number {
  let sum = 0;
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) sum += frame.data[(y * frame.width + x) * 3] ?? 0;
  return sum / ((x1 - x0) * (y1 - y0));
}

describe('decodeFrames', () => {
  it.each<SyntheticKind>(['normal', 'vfr', 'vfrMp4', 'rotated', 'odd', 'portrait', 'oneFrame', 'indexed'])(
    '%s: exactly the planned frames, each of the planned size',
    async (kind) => {
      const meta = await probeVideo(tools, await syntheticVideo(kind));
      const plan = planSampling(meta, defaultSamplingOptions);
      const frames = await collect(meta, plan);
      expect(frames).toHaveLength(plan.times.length);
      frames.forEach((frame, i) => {
        expect(frame.index).toBe(i);
        expect(frame.timeSec).toBe(plan.times[i]);
        expect([frame.width, frame.height]).toEqual([plan.width, plan.height]);
        expect(frame.data.length).toBe(plan.width * plan.height * 3);
      });
    },
  );

  it.each([2, 3, 6, 12.5])(
    'picks the planned source frames (fps %d, checked against each frame’s own content)',
    async (fps) => {
      const meta = await probeVideo(tools, await syntheticVideo('indexed'));
      const plan = planSampling(meta, { ...defaultSamplingOptions, fps });
      const reference = await indexByValue(meta.path, plan.width, plan.height);
      expect(reference.size).toBe(100);
      const frames = await collect(meta, plan);
      expect(frames.map((frame) => reference.get(centre(frame)))).toEqual(
        plan.times.map((t) => Math.round(t * meta.fps)),
      );
    },
  );

  it('applies the display rotation: the stored left/right halves come out as top/bottom', async () => {
    const meta = await probeVideo(tools, await syntheticVideo('rotated'));
    const plan = planSampling(meta, defaultSamplingOptions);
    expect(plan.height).toBeGreaterThan(plan.width);
    const [frame] = await collect(meta, plan);
    if (!frame) throw new Error('no frame');
    const { width: w, height: h } = frame;
    const top = meanOf(frame, 0, 0, w, Math.floor(h * 0.4));
    const bottom = meanOf(frame, 0, Math.ceil(h * 0.6), w, h);
    const left = meanOf(frame, 0, 0, Math.floor(w * 0.4), h);
    const right = meanOf(frame, Math.ceil(w * 0.6), 0, w, h);
    expect(Math.abs(top - bottom)).toBeGreaterThan(200);
    expect(Math.abs(left - right)).toBeLessThan(10);
  });

  it('delivers the one frame of a one-frame video twice (a full temporal patch)', async () => {
    const meta = await probeVideo(tools, await syntheticVideo('oneFrame'));
    const frames = await collect(meta, planSampling(meta, defaultSamplingOptions));
    expect(frames).toHaveLength(2);
    expect(frames[0]?.data.equals(frames[1]?.data ?? Buffer.alloc(0))).toBe(true);
  });

  it('fails with CORRUPT_MEDIA on a truncated file instead of returning fewer frames', async () => {
    const meta = await probeVideo(tools, await syntheticVideo('truncated'));
    const plan = planSampling(meta, defaultSamplingOptions);
    let delivered = 0;
    const error = await (async () => {
      for await (const _frame of decodeFrames(ffmpeg, meta, plan)) delivered += 1;
    })().then(
      () => null,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('CORRUPT_MEDIA');
    expect((error as AppError).message).toMatch(
      new RegExp(`after ${delivered} of ${plan.times.length} planned frames`),
    );
    expect(delivered).toBeGreaterThan(0);
    expect(delivered).toBeLessThan(plan.times.length);
  });

  it('cancel kills ffmpeg at once: the process is gone when the iterator rejects', async () => {
    const meta = await probeVideo(tools, await syntheticVideo('normal'));
    const plan = planSampling(meta, defaultSamplingOptions);
    const controller = new AbortController();
    const before = new Set(liveChildPids());
    const frames = decodeFrames(ffmpeg, meta, plan, { signal: controller.signal });
    const first = await frames.next();
    expect(first.done).toBe(false);
    const pids = liveChildPids().filter((pid) => !before.has(pid));
    expect(pids).toHaveLength(1);
    const pid = pids[0] ?? -1;
    // Not consuming: ffmpeg waits on the full pipe (backpressure), so it is still running here.
    expect(alive(pid)).toBe(true);
    controller.abort();
    await expect(frames.next()).rejects.toMatchObject({ code: 'CANCELLED' });
    expect(alive(pid)).toBe(false);
    expect(liveChildPids()).not.toContain(pid);
  });

  it('a consumer that stops early leaves no ffmpeg behind', async () => {
    const meta = await probeVideo(tools, await syntheticVideo('normal'));
    const plan = planSampling(meta, defaultSamplingOptions);
    const before = new Set(liveChildPids());
    let pid = -1;
    for await (const _frame of decodeFrames(ffmpeg, meta, plan)) {
      pid = liveChildPids().find((p) => !before.has(p)) ?? -1;
      break;
    }
    expect(pid).toBeGreaterThan(0);
    expect(alive(pid)).toBe(false);
  });

  it('refuses to start when already cancelled', async () => {
    const meta = await probeVideo(tools, await syntheticVideo('normal'));
    const controller = new AbortController();
    controller.abort();
    const frames = decodeFrames(ffmpeg, meta, planSampling(meta, defaultSamplingOptions), {
      signal: controller.signal,
    });
    await expect(frames.next()).rejects.toThrow();
  });
});
