import type { Readable } from 'node:stream';
import { AppError } from '../../../app/contract/errors.js';
import type { SamplingPlan, VideoMeta } from '../../../app/contract/video.js';
import { spawnTracked, waitForExit } from './child-processes.js';
import { ffmpegInput, rgbOutput } from './ffmpeg-args.js';
import { toolFailure } from './tool-errors.js';

// The planned frames of a video as RGB24, from ONE ffmpeg process through a pipe. Frames are pulled: while the
// consumer is busy the pipe fills and ffmpeg blocks, so memory holds one frame whatever the video's length.
// ffmpeg's own `select` filter keeps, for each planned time, the frame nearest to it (it decodes every frame
// anyway, so one continuous pass is cheapest for dense sampling), then scales only the kept frames.
// A file that ends early is an error (CORRUPT_MEDIA), never silently fewer frames.

export interface DecodedFrame {
  /** Position in the plan, from 0. */
  index: number;
  /** The planned time, seconds from the video's first frame. */
  timeSec: number;
  width: number;
  height: number;
  /** width × height × 3 bytes, rows top to bottom, RGB. */
  data: Buffer;
}

export type DecodeSource = Pick<
  VideoMeta,
  'path' | 'fps' | 'nominalFps' | 'durationSec' | 'startSec' | 'videoStreamIndex'
>;

export interface DecodeOptions {
  signal?: AbortSignal | undefined;
  /** Called after each frame with (frames delivered, frames planned). */
  onProgress?: ((done: number, total: number) => void) | undefined;
}

/**
 * ffmpeg's arguments for a plan. Times are evenly spaced (the plan's rule), so one running counter in the select
 * expression walks them: a frame is kept when its timestamp reaches the next planned time less half a frame
 * interval, i.e. it is the frame nearest that time (an exact half goes to the later frame, as in the plan).
 * Timestamps are the file's own (-copyts), so the first frame sits at `startSec`.
 */
export function decodeArgs(source: DecodeSource, plan: SamplingPlan, distinctFrames: number): string[] {
  const first = plan.times[0] ?? 0;
  const last = plan.times.at(-1) ?? first;
  const step = distinctFrames > 1 ? (last - first) / (distinctFrames - 1) : 0;
  const origin = source.startSec + first - 0.5 / source.fps + 1e-6;
  const num = (x: number): string => x.toPrecision(17);
  const select = `select='if(gte(t,${num(origin)}+ld(0)*${num(step)}),st(0,ld(0)+1)*0+1,0)'`;
  return [
    ...ffmpegInput(source, ['-copyts']),
    ...rgbOutput(plan.width, plan.height, [select]),
    '-frames:v',
    String(distinctFrames),
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}

/** How many different source frames a plan asks for: all of them, except a one-frame video's repeated frame. */
export function distinctFrameCount(plan: SamplingPlan): number {
  const first = plan.times[0];
  return first !== undefined && plan.times.every((t) => t === first) ? 1 : plan.times.length;
}

export async function* decodeFrames(
  ffmpeg: string,
  source: DecodeSource,
  plan: SamplingPlan,
  options: DecodeOptions = {},
): AsyncGenerator<DecodedFrame, void, undefined> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const total = plan.times.length;
  const distinct = distinctFrameCount(plan);
  const frameBytes = plan.width * plan.height * 3;
  let delivered = 0;
  let last: Buffer | null = null;
  const emit = (data: Buffer): DecodedFrame => {
    const frame = {
      index: delivered,
      timeSec: plan.times[delivered] ?? 0,
      width: plan.width,
      height: plan.height,
      data,
    };
    delivered += 1;
    return frame;
  };
  for await (const data of rawFrames(
    ffmpeg,
    source.path,
    decodeArgs(source, plan, distinct),
    frameBytes,
    signal,
  )) {
    // The one frame of a one-frame video is delivered as many times as the plan lists it.
    const copies = distinct === 1 ? total : 1;
    for (let c = 0; c < copies && delivered < total; c++) {
      yield emit(c + 1 < copies ? Buffer.from(data) : data);
      onProgress?.(delivered, total);
    }
    last = data;
  }
  if (delivered === total) return;
  // Some files hold a last frame the demuxer then hides (an edit list ending on its timestamp): the stream stops a
  // frame short of its stated end. Planned times that close to the end are served by the frame really shown last.
  const missingFrom = plan.times[delivered] ?? 0;
  const endSlack = 1.5 / Math.min(source.fps, source.nominalFps);
  if (last !== null && missingFrom >= source.durationSec - endSlack) {
    const tail = await lastFrame(ffmpeg, source, plan, frameBytes, signal);
    while (delivered < total) {
      yield emit(Buffer.from(tail));
      onProgress?.(delivered, total);
    }
    return;
  }
  throw new AppError(
    'CORRUPT_MEDIA',
    `The video ended after ${delivered} of ${total} planned frames (truncated or corrupt): ${source.path}`,
  );
}

/** The last frame ffmpeg can decode, scaled as planned: a short decode of the final second. */
async function lastFrame(
  ffmpeg: string,
  source: DecodeSource,
  plan: SamplingPlan,
  frameBytes: number,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  const args = [
    ...ffmpegInput(source, ['-sseof', '-1']),
    ...rgbOutput(plan.width, plan.height),
    '-f',
    'rawvideo',
    'pipe:1',
  ];
  let last: Buffer | null = null;
  for await (const frame of rawFrames(ffmpeg, source.path, args, frameBytes, signal)) last = frame;
  if (last === null)
    throw new AppError('CORRUPT_MEDIA', `No frame could be decoded at the end of ${source.path}`);
  return last;
}

/**
 * Whole frames of `frameBytes` from one ffmpeg writing rawvideo to stdout, pulled one at a time (the pipe's
 * backpressure pauses ffmpeg while the consumer works). Ends normally only when ffmpeg exits 0; ffmpeg is killed
 * at once on abort or when the consumer stops early, and is gone before this generator settles.
 */
async function* rawFrames(
  ffmpeg: string,
  file: string,
  args: readonly string[],
  frameBytes: number,
  signal: AbortSignal | undefined,
): AsyncGenerator<Buffer, void, undefined> {
  signal?.throwIfAborted();
  const child = spawnTracked(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-8192);
  });
  let spawnError: Error | null = null;
  child.once('error', (err) => {
    spawnError = err;
  });
  const kill = (): void => {
    child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', kill, { once: true });
  const exited = waitForExit(child);
  try {
    let frame = Buffer.allocUnsafe(frameBytes);
    let filled = 0;
    for await (const chunk of child.stdout as Readable as AsyncIterable<Buffer>) {
      if (signal?.aborted) break;
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(frameBytes - filled, chunk.length - offset);
        chunk.copy(frame, filled, offset, offset + n);
        filled += n;
        offset += n;
        if (filled === frameBytes) {
          yield frame;
          frame = Buffer.allocUnsafe(frameBytes);
          filled = 0;
        }
      }
    }
    await exited;
    if (signal?.aborted) throw new AppError('CANCELLED', 'Decoding was cancelled');
    if (spawnError !== null) {
      throw new AppError('FFMPEG_MISSING', `Cannot run ffmpeg: ${(spawnError as Error).message}`, ffmpeg);
    }
    if (child.exitCode !== 0) throw toolFailure('ffmpeg', file, child.exitCode, stderr, child.signalCode);
  } finally {
    signal?.removeEventListener('abort', kill);
    // A consumer that stops early (break, error, cancel) leaves no ffmpeg behind.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
}
