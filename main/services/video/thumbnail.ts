import { AppError } from '../../../app/contract/errors.js';
import { ffmpegInput, type InputSource } from './ffmpeg-args.js';
import { runTool } from './run-tool.js';
import { toolFailure } from './tool-errors.js';

// One timeline thumbnail: seek to the time (an input seek jumps to the keyframe before it, then decodes forward to
// the exact time), take one frame, scale it to the requested height, JPEG. Cheap for any video length, unlike a
// pass over the whole file.

export type ThumbnailSource = InputSource;

export function thumbnailArgs(source: ThumbnailSource, timeSec: number, height: number): string[] {
  return [
    ...ffmpegInput(source, ['-ss', timeSec.toFixed(3)]),
    '-frames:v',
    '1',
    '-vf',
    `scale=-2:${height}:flags=bilinear`,
    '-f',
    'image2pipe',
    '-c:v',
    'mjpeg',
    '-q:v',
    '5',
    'pipe:1',
  ];
}

export async function thumbnailJpeg(
  ffmpeg: string,
  source: ThumbnailSource,
  timeSec: number,
  height: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  const run = await runTool(ffmpeg, thumbnailArgs(source, timeSec, height), {
    signal,
    maxStdoutBytes: 8 << 20,
  });
  if (run.code !== 0) throw toolFailure('ffmpeg', source.path, run.code, run.stderr, run.signal);
  if (run.stdout.length === 0) {
    throw new AppError(
      'BAD_REQUEST',
      `No frame at ${timeSec.toFixed(3)} s in ${source.path}`,
      run.stderr.trim() || undefined,
    );
  }
  return run.stdout;
}
