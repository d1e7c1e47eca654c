import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SamplingRequestSchema } from '../../app/contract/contract.js';
import { VideoMetaSchema } from '../../app/contract/video.js';
import { defaultSamplingOptions, planSampling } from '../../app/domain/sampling.js';
import { decodeFrames } from '../services/video/decode.js';
import { absolute, call, parseCli, withCliContext } from './context.js';
import { encodeImage, type ImageFormat } from './image-files.js';
import { reportError, usageError, type CliIo } from './io.js';

export const framesUsage = `Usage: mmi frames FILE --fps F --out DIR [options]

  --fps F            frames per second of video to sample (required)
  --out DIR          folder for the frames and plan.json (created if needed)
  --max-frames N     at most N frames (default ${defaultSamplingOptions.maxFrames})
  --min-frames N     at least N frames (default ${defaultSamplingOptions.minFrames})
  --max-pixels P     per-frame pixel budget (default ${defaultSamplingOptions.maxPixels})
  --min-pixels P     per-frame pixel floor (default ${defaultSamplingOptions.minPixels})
  --total-pixels P   pixel budget over all frames (default ${defaultSamplingOptions.totalPixels})
  --format png|ppm   image format (default png)`;

/** Samples a video as the model would see it and writes the frames plus plan.json (metadata, options, plan). */
export async function runFrames(argv: string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseCli({
      args: argv,
      options: {
        fps: { type: 'string' },
        out: { type: 'string' },
        'max-frames': { type: 'string' },
        'min-frames': { type: 'string' },
        'max-pixels': { type: 'string' },
        'min-pixels': { type: 'string' },
        'total-pixels': { type: 'string' },
        format: { type: 'string', default: 'png' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
    if (values.help) {
      io.out(`${framesUsage}\n`);
      return 0;
    }
    if (positionals.length !== 1 || positionals[0] === undefined)
      throw usageError('expected one FILE (see mmi frames --help)');
    if (values.fps === undefined) throw usageError('--fps is required');
    if (values.out === undefined) throw usageError('--out is required');
    const format = values.format;
    if (format !== 'png' && format !== 'ppm') throw usageError(`--format must be png or ppm, not ${format}`);
    const parsedOptions = SamplingRequestSchema.safeParse({
      fps: number('--fps', values.fps),
      maxFrames: number('--max-frames', values['max-frames'], defaultSamplingOptions.maxFrames),
      minFrames: number('--min-frames', values['min-frames'], defaultSamplingOptions.minFrames),
      maxPixels: number('--max-pixels', values['max-pixels'], defaultSamplingOptions.maxPixels),
      minPixels: number('--min-pixels', values['min-pixels'], defaultSamplingOptions.minPixels),
      totalPixels: number('--total-pixels', values['total-pixels'], defaultSamplingOptions.totalPixels),
    });
    if (!parsedOptions.success) {
      const issue = parsedOptions.error.issues[0];
      throw usageError(
        `invalid sampling option ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
      );
    }
    const options = parsedOptions.data;
    const file = absolute(positionals[0]);
    const outDir = absolute(values.out);
    return await withCliContext(async (ctx) => {
      const meta = VideoMetaSchema.parse(await call(ctx, 'video.probe', { path: file }));
      const plan = planSampling(meta, options);
      const { ffmpeg } = await ctx.services.tools.require();
      await mkdir(outDir, { recursive: true });
      const written: Array<{ index: number; timeSec: number; file: string }> = [];
      const digits = Math.max(6, String(plan.times.length).length);
      for await (const frame of decodeFrames(ffmpeg.path, meta, plan, {
        signal: ctx.signal,
        onProgress: (done, total) => {
          if (io.interactive) io.err(`\rframes ${done}/${total}`);
        },
      })) {
        const name = `frame-${String(frame.index).padStart(digits, '0')}.${format as ImageFormat}`;
        await writeFile(path.join(outDir, name), encodeImage(format, frame.data, frame.width, frame.height));
        written.push({ index: frame.index, timeSec: frame.timeSec, file: name });
      }
      if (io.interactive) io.err('\n');
      const planFile = path.join(outDir, 'plan.json');
      await writeFile(
        planFile,
        `${JSON.stringify({ file, meta, options, plan, frames: written }, null, 2)}\n`,
      );
      io.out(
        `${written.length} frames of ${plan.width}x${plan.height} (${plan.visualTokens} visual tokens) in ${outDir}; plan in ${planFile}\n`,
      );
      return 0;
    });
  } catch (err) {
    return reportError(io, err);
  }
}

/** A numeric flag's value; BAD_REQUEST naming the flag when it is not a number. */
export function number(flag: string, text: string | undefined, fallback?: number): number {
  if (text === undefined && fallback !== undefined) return fallback;
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(value))
    throw usageError(`${flag} needs a number, not "${text ?? ''}"`);
  return value;
}
