import { readFile, truncate, writeFile, copyFile } from 'node:fs/promises';
import type { ErrorCode } from '../../app/contract/errors.js';
import { cachedFile, formatOf, lavfiClip, runFfmpeg } from '../../main/bench/synthetic.js';
import type { ResolvedTool } from '../../main/services/video/binaries.js';
import { createVideoTools } from '../../main/services/video/tools.js';

// The test videos, synthesised with the ffmpeg the app itself resolves (so tests follow the same resolution order
// as the product) and cached in a temp folder. Each comes with what it is by construction: the facts a probe must
// find, or the error it must raise. Shared by the integration and end-to-end suites.

export type SyntheticKind =
  | 'normal'
  | 'vfr'
  | 'vfrMp4'
  | 'reordered'
  | 'rotated'
  | 'odd'
  | 'portrait'
  | 'oneFrame'
  | 'indexed'
  | 'long'
  | 'audioOnly'
  | 'noDuration'
  | 'truncated'
  | 'truncatedMp4'
  | 'randomBytes'
  | 'empty';

export interface VideoFacts {
  /** Size as displayed (after rotation). */
  width: number;
  height: number;
  rotation: number;
  /** Frames in the file, where the construction fixes them. */
  frames: number;
  durationSec: number;
  /** How far a probe may differ from durationSec: muxers disagree on the last frame's own duration. */
  durationSlackSec: number;
  variableFrameRate: boolean;
  codec: string;
}

export type SyntheticSpec = { name: string } & (
  { facts: VideoFacts } | { probeError: ErrorCode } | { decodeError: ErrorCode }
);

/** A video's facts; most test clips are constant-rate H.264 without rotation. */
function facts(
  width: number,
  height: number,
  frames: number,
  durationSec: number,
  more: Partial<VideoFacts> = {},
): VideoFacts {
  return {
    width,
    height,
    rotation: 0,
    frames,
    durationSec,
    durationSlackSec: 0.005,
    variableFrameRate: false,
    codec: 'h264',
    ...more,
  };
}

export const syntheticSpecs: Record<SyntheticKind, SyntheticSpec> = {
  normal: { name: 'normal.mp4', facts: facts(320, 240, 100, 4) },
  // 2 s at 30 fps then 2 s at 10 fps: 60 + 20 frames, the last at 3.9 s.
  vfr: {
    name: 'vfr.mkv',
    facts: facts(320, 240, 80, 3.9, { durationSlackSec: 0.1, variableFrameRate: true }),
  },
  vfrMp4: {
    name: 'vfr.mp4',
    facts: facts(320, 240, 80, 3.9, { durationSlackSec: 0.1, variableFrameRate: true }),
  },
  // Constant 30 fps with B-frames (libx264's default preset), longer than the packets the rate check reads, in
  // Matroska (1 ms timestamps): packets come in decode order, so the last ones read leave holes in the times.
  reordered: { name: 'reordered.mkv', facts: facts(320, 240, 300, 10) },
  // Stored 320×240, black left half and white right half, with a 90° display rotation: shown 240×320 with the
  // halves on top of each other.
  rotated: { name: 'rotated.mp4', facts: facts(240, 320, 50, 2, { rotation: 90 }) },
  // testsrc, not testsrc2: testsrc2 rounds its size down to even numbers.
  odd: { name: 'odd.mkv', facts: facts(317, 239, 50, 2, { codec: 'ffv1' }) },
  portrait: { name: 'portrait.mp4', facts: facts(180, 320, 50, 2) },
  oneFrame: { name: 'one-frame.mp4', facts: facts(320, 240, 1, 0.04) },
  // Frame n is a flat grey of luma 16 + 2n, losslessly coded: a decoded frame tells which source frame it is.
  indexed: { name: 'indexed.mp4', facts: facts(64, 48, 100, 4) },
  // Five minutes: long enough that a decode is still running when a test cancels it.
  long: { name: 'long.mp4', facts: facts(320, 240, 7500, 300) },
  audioOnly: { name: 'audio-only.m4a', probeError: 'NO_VIDEO_STREAM' },
  // A raw H.264 stream: frames without timestamps, so no duration.
  noDuration: { name: 'no-duration.h264', probeError: 'ZERO_DURATION' },
  // The first half of an 8 s Matroska file: the header still promises 8 s, the frames stop near 4 s.
  truncated: { name: 'truncated.mkv', decodeError: 'CORRUPT_MEDIA' },
  // The first half of an MP4 whose index (moov) sits at the end: unreadable.
  truncatedMp4: { name: 'truncated.mp4', probeError: 'CORRUPT_MEDIA' },
  randomBytes: { name: 'random-bytes.mp4', probeError: 'NOT_MEDIA' },
  empty: { name: 'empty.mp4', probeError: 'FILE_EMPTY' },
};

/** ffmpeg arguments written as one line (none of them contains a space). */
const args = (line: string): string[] => line.trim().split(/\s+/);
const h264 = '-c:v libx264 -preset ultrafast -pix_fmt yuv420p';

let tools: Promise<{ ffmpeg: ResolvedTool; ffprobe: ResolvedTool }> | undefined;

/** The ffmpeg and ffprobe the app resolves here (FFMPEG_PATH/FFPROBE_PATH, npm packages, then PATH). */
export function resolvedTools(): Promise<{ ffmpeg: ResolvedTool; ffprobe: ResolvedTool }> {
  tools ??= createVideoTools().require();
  return tools;
}

/** The path of a synthetic video, made on first use. */
export async function syntheticVideo(kind: SyntheticKind): Promise<string> {
  const { ffmpeg } = await resolvedTools();
  const ff = ffmpeg.path;
  const name = syntheticSpecs[kind].name;
  const recipe = (parts: readonly string[]): string => `${ff}\n${parts.join(' ')}`;
  const made = (args: readonly string[]): Promise<string> =>
    cachedFile(name, recipe(args), (out) => runFfmpeg(ff, [...args, '-f', formatOf(name), out]));
  switch (kind) {
    case 'normal':
      return made(
        args(`-f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100
              -t 4 ${h264} -g 50 -c:a aac -shortest`),
      );
    case 'vfr':
    case 'vfrMp4':
      return made(
        args(`-f lavfi -i testsrc2=size=320x240:rate=30:duration=2 -f lavfi -i testsrc2=size=320x240:rate=10:duration=2
              -filter_complex [0:v][1:v]concat=n=2:v=1:a=0[v] -map [v] -vsync vfr ${h264} -g 30`),
      );
    case 'reordered':
      return made(
        args(
          '-f lavfi -i testsrc2=size=320x240:rate=30 -t 10 -c:v libx264 -preset medium -bf 3 -pix_fmt yuv420p',
        ),
      );
    case 'rotated': {
      const plainArgs = args(
        `-f lavfi -i color=c=black:size=320x240:rate=25,drawbox=x=160:y=0:w=160:h=240:color=white:t=fill -t 2 ${h264} -g 50`,
      );
      const plain = await cachedFile('unrotated.mp4', recipe(plainArgs), (out) =>
        runFfmpeg(ff, [...plainArgs, '-f', 'mp4', out]),
      );
      const rotate = ['-i', plain, ...args('-c copy -metadata:s:v:0 rotate=90 -f mp4')];
      return cachedFile(name, recipe(rotate), (out) => runFfmpeg(ff, [...rotate, out]));
    }
    case 'odd':
      return made(args('-f lavfi -i testsrc=size=317x239:rate=25 -t 2 -c:v ffv1 -pix_fmt yuv444p'));
    case 'portrait':
      return lavfiClip(ff, name, { width: 180, height: 320, fps: 25, seconds: 2 });
    case 'oneFrame':
      return made(args(`-f lavfi -i testsrc2=size=320x240:rate=25 -frames:v 1 ${h264}`));
    case 'indexed':
      return made(
        args(
          `-f lavfi -i nullsrc=size=64x48:rate=25,geq=lum='16+2*N':cb=128:cr=128 -frames:v 100 ${h264} -qp 0`,
        ),
      );
    case 'long':
      return lavfiClip(ff, name, { width: 320, height: 240, fps: 25, seconds: 300 });
    case 'noDuration':
      return made(args(`-f lavfi -i testsrc2=size=320x240:rate=25 -t 1 ${h264}`));
    case 'audioOnly':
      return made(args('-f lavfi -i sine=frequency=440:sample_rate=44100 -t 2 -c:a aac'));
    case 'truncated':
    case 'truncatedMp4': {
      const ext = kind === 'truncated' ? 'mkv' : 'mp4';
      const whole = await lavfiClip(ff, `whole.${ext}`, {
        width: 320,
        height: 240,
        fps: 25,
        seconds: 8,
        gopSeconds: 1,
      });
      return cachedFile(name, recipe([whole, 'first half']), (out) => firstHalf(whole, out));
    }
    case 'randomBytes':
      return cachedFile(name, 'xorshift 65536 seed 1', (out) => writeFile(out, pseudoRandomBytes(65536, 1)));
    case 'empty':
      return cachedFile(name, 'empty', (out) => writeFile(out, new Uint8Array(0)));
  }
}

async function firstHalf(source: string, out: string): Promise<void> {
  await copyFile(source, out);
  const size = (await readFile(out)).length;
  await truncate(out, Math.floor(size / 2));
}

/** Deterministic noise (xorshift32), so the "random" file is the same on every machine. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  return bytes;
}
