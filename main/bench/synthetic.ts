import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

// Synthetic videos for benchmarks and tests, made with ffmpeg's lavfi sources and cached in a temp folder (never
// in the repository): a file is built under a temporary name and renamed into place, so parallel test workers
// never see half a file, and it is rebuilt only when its recipe (or the ffmpeg making it) changes.

const execFileAsync = promisify(execFile);

export function syntheticCacheDir(): string {
  return process.env.MMI_SYNTHETIC_DIR ?? path.join(os.tmpdir(), 'mmi-synthetic');
}

/**
 * The cached file `name` made by `make(tmpPath)`; `recipe` must change whenever the content would. Answers the
 * file's path.
 */
export async function cachedFile(
  name: string,
  recipe: string,
  make: (out: string) => Promise<void>,
): Promise<string> {
  const dir = syntheticCacheDir();
  const digest = createHash('sha256').update(recipe).digest('hex').slice(0, 12);
  const file = path.join(dir, `${digest}-${name}`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}-${name}`);
  try {
    await make(tmp);
    await rename(tmp, file);
  } finally {
    await rm(tmp, { force: true });
  }
  return file;
}

/** Runs ffmpeg to completion; a failure throws with ffmpeg's own words. */
export async function runFfmpeg(ffmpeg: string, args: readonly string[]): Promise<void> {
  try {
    await execFileAsync(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], {
      maxBuffer: 16 << 20,
    });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`ffmpeg ${args.join(' ')} failed: ${stderr.trim() || String(err)}`);
  }
}

/** An H.264 testsrc2 clip made with ffmpeg, cached. `extra` goes before the output (codec options, metadata). */
export async function lavfiClip(
  ffmpeg: string,
  name: string,
  clip: {
    width: number;
    height: number;
    fps: number;
    seconds: number;
    gopSeconds?: number;
    extra?: readonly string[];
  },
): Promise<string> {
  const gop = Math.max(1, Math.round(clip.fps * (clip.gopSeconds ?? 2)));
  const args = [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${clip.width}x${clip.height}:rate=${clip.fps}`,
    '-t',
    String(clip.seconds),
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    String(gop),
    ...(clip.extra ?? []),
  ];
  return cachedFile(name, `${ffmpeg}\n${args.join(' ')}`, (out) =>
    runFfmpeg(ffmpeg, [...args, '-f', formatOf(name), out]),
  );
}

/** `ffmpeg -f` name for a file name's extension (the temporary name hides it from ffmpeg). */
export function formatOf(name: string): string {
  const ext = path.extname(name).slice(1).toLowerCase();
  return (
    (
      { mkv: 'matroska', m4a: 'mp4', mov: 'mov', mp4: 'mp4', webm: 'webm', wav: 'wav' } as Record<
        string,
        string
      >
    )[ext] ?? ext
  );
}

/**
 * A long video made cheaply: one minute of small testsrc2 is encoded once, then joined to itself by the concat
 * demuxer without re-encoding (`hours` × 60 copies). Every copy starts on a keyframe, so decoding it costs what
 * decoding a real hour of that size costs.
 */
export async function longVideo(
  ffmpeg: string,
  hours: number,
  clip: { width: number; height: number; fps: number } = { width: 480, height: 270, fps: 10 },
): Promise<string> {
  const tag = `${clip.width}x${clip.height}-${clip.fps}fps`;
  const minute = await lavfiClip(ffmpeg, `minute-${tag}.mp4`, { ...clip, seconds: 60, gopSeconds: 10 });
  const copies = Math.round(hours * 60);
  return cachedFile(`${hours}h-${tag}.mp4`, `${minute}\nconcat ${copies}`, async (out) => {
    const list = `${out}.txt`;
    await writeFile(list, `file '${minute.replaceAll("'", "'\\''")}'\n`.repeat(copies));
    try {
      await runFfmpeg(ffmpeg, ['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', '-f', 'mp4', out]);
    } finally {
      await rm(list, { force: true });
    }
  });
}
