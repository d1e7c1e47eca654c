import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VideoMetaSchema } from '../../app/contract/video.js';
import {
  resolvedTools,
  syntheticSpecs,
  syntheticVideo,
  type SyntheticKind,
} from '../support/synthetic-videos.js';
import { mmi } from '../support/run-cli.js';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** One line, `error CODE: message`, and nothing that looks like a stack trace. */
function expectOneLineError(err: string, code: string): void {
  expect(err).toMatch(new RegExp(`^error ${code}: \\S[^\\n]*\\n$`));
  expect(err).not.toMatch(/\n\s+at /);
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(os.tmpdir(), 'mmi-cli-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('mmi probe', () => {
  it('prints the metadata as JSON with --json', async () => {
    const file = await syntheticVideo('rotated');
    const { code, out, err } = await mmi('probe', file, '--json');
    expect(err).toBe('');
    expect(code).toBe(0);
    const meta = VideoMetaSchema.parse(JSON.parse(out));
    expect([meta.width, meta.height]).toEqual([240, 320]);
  });

  it('prints a readable summary by default', async () => {
    const { code, out } = await mmi('probe', await syntheticVideo('normal'));
    expect(code).toBe(0);
    expect(out).toMatch(/^duration\s+0:04\.000/m);
    expect(out).toMatch(/^video\s+h264, 320x240$/m);
  });

  it.each<SyntheticKind>(['randomBytes', 'empty', 'audioOnly', 'truncatedMp4', 'noDuration'])(
    '%s: exit 1 and one line naming the error code',
    async (kind) => {
      const { code, out, err } = await mmi('probe', await syntheticVideo(kind));
      expect(code).toBe(1);
      expect(out).toBe('');
      expectOneLineError(err, (syntheticSpecs[kind] as { probeError: string }).probeError);
    },
  );

  it('a missing file: FILE_NOT_FOUND', async () => {
    const { code, err } = await mmi('probe', path.join(scratch, 'nope.mp4'));
    expect(code).toBe(1);
    expectOneLineError(err, 'FILE_NOT_FOUND');
  });

  it('bad usage: exit 2 and BAD_REQUEST', async () => {
    for (const argv of [['probe'], ['probe', 'a', 'b'], ['probe', '--what', 'x'], ['nonsense']]) {
      const { code, err } = await mmi(...argv);
      expect(code).toBe(2);
      expectOneLineError(err, 'BAD_REQUEST');
    }
  });
});

describe('mmi frames', () => {
  it('writes the planned frames as PNG plus plan.json; ffmpeg reads them back as the planned source frames', async () => {
    const file = await syntheticVideo('indexed');
    const out = path.join(scratch, 'frames');
    const {
      code,
      err,
      out: stdout,
    } = await mmi('frames', file, '--fps', '3', '--max-frames', '10', '--out', out);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('10 frames');
    const plan = JSON.parse(await readFile(path.join(out, 'plan.json'), 'utf8')) as {
      plan: { times: number[]; width: number; height: number };
      frames: Array<{ file: string; timeSec: number }>;
    };
    expect(plan.plan.times).toHaveLength(10);
    expect(plan.frames.map((f) => f.timeSec)).toEqual(plan.plan.times);
    expect((await readdir(out)).filter((name) => name.endsWith('.png'))).toHaveLength(10);

    // Each PNG, decoded by ffmpeg, is the same picture ffmpeg gives for that source frame directly.
    const { ffmpeg } = await resolvedTools();
    const { width, height } = plan.plan;
    const scale = `scale=${width}:${height}:flags=bicubic,format=rgb24`;
    const all = await run(ffmpeg.path, ['-v', 'error', '-i', file, '-vf', scale, '-f', 'rawvideo', '-'], {
      encoding: 'buffer',
      maxBuffer: 1 << 28,
    });
    const frameBytes = width * height * 3;
    for (const [i, frame] of plan.frames.entries()) {
      const png = await run(
        ffmpeg.path,
        ['-v', 'error', '-i', path.join(out, frame.file), '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
        {
          encoding: 'buffer',
        },
      );
      const source = Math.round((plan.plan.times[i] ?? 0) * 25);
      expect(png.stdout.equals(all.stdout.subarray(source * frameBytes, (source + 1) * frameBytes))).toBe(
        true,
      );
    }
  });

  it('writes PPM with --format ppm', async () => {
    const out = path.join(scratch, 'ppm');
    const { code } = await mmi(
      'frames',
      await syntheticVideo('portrait'),
      '--fps',
      '1',
      '--out',
      out,
      '--format',
      'ppm',
    );
    expect(code).toBe(0);
    const ppm = await readFile(path.join(out, 'frame-000000.ppm'));
    expect(ppm.subarray(0, 2).toString()).toBe('P6');
  });

  it('a truncated file: exit 1, CORRUPT_MEDIA', async () => {
    const { code, err } = await mmi(
      'frames',
      await syntheticVideo('truncated'),
      '--fps',
      '2',
      '--out',
      path.join(scratch, 't'),
    );
    expect(code).toBe(1);
    expectOneLineError(err, 'CORRUPT_MEDIA');
  });

  it.each([
    [['--out', 'x'], '--fps is required'],
    [['--fps', '2'], '--out is required'],
    [['--fps', 'fast', '--out', 'x'], 'number'],
    [['--fps', '0', '--out', 'x'], 'fps'],
    [['--fps', '2', '--max-frames', '1', '--min-frames', '4', '--out', 'x'], 'minFrames'],
    [['--fps', '2', '--format', 'gif', '--out', 'x'], 'png or ppm'],
  ])('bad options %j: exit 2, BAD_REQUEST', async (options, reason) => {
    const { code, err } = await mmi('frames', await syntheticVideo('normal'), ...options);
    expect(code).toBe(2);
    expectOneLineError(err, 'BAD_REQUEST');
    expect(err).toContain(reason);
  });
});

describe('mmi routing', () => {
  it('hands serve to its own module', async () => {
    expect((await mmi('serve', '--help')).code).toBe(0);
  });

  it('prints the usage for help and exits 2 without a command', async () => {
    const help = await mmi('help');
    expect(help.code).toBe(0);
    expect(help.out).toMatch(/^Usage: mmi <command>/);
    expect((await mmi()).code).toBe(2);
  });
});

describe('mmi doctor', () => {
  it('names the ffmpeg and ffprobe in use and exits 0', async () => {
    const { ffmpeg, ffprobe } = await resolvedTools();
    const { code, out } = await mmi('doctor');
    expect(code).toBe(0);
    expect(out).toContain(ffmpeg.path);
    expect(out).toContain(ffprobe.path);
    expect(out).toMatch(/^engine\s+\S/m);
  });
});

// The installed command itself (bin/mmi.js → dist/), as a user runs it: needs `npm run build:ts` first.
const built = existsSync(path.join(repo, 'dist/main/cli/index.js'));
describe.skipIf(!built)('bin/mmi.js (built CLI)', () => {
  it('exits non-zero with one error line on a bad file', async () => {
    const error = await run(process.execPath, [
      path.join(repo, 'bin/mmi.js'),
      'probe',
      await syntheticVideo('randomBytes'),
    ]).then(
      () => null,
      (err: unknown) => err as { code: number; stdout: string; stderr: string },
    );
    expect(error?.code).toBe(1);
    expect(error?.stdout).toBe('');
    expectOneLineError(error?.stderr ?? '', 'NOT_MEDIA');
  });

  it('probes a video', async () => {
    const { stdout } = await run(process.execPath, [
      path.join(repo, 'bin/mmi.js'),
      'probe',
      '--json',
      await syntheticVideo('normal'),
    ]);
    expect(VideoMetaSchema.parse(JSON.parse(stdout)).codec).toBe('h264');
  });
});
