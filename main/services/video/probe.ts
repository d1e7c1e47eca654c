import { open, stat } from 'node:fs/promises';
import { z } from 'zod';
import { AppError } from '../../../app/contract/errors.js';
import type { VideoMeta } from '../../../app/contract/video.js';
import { runTool, type ToolRun } from './run-tool.js';
import { toolFailure } from './tool-errors.js';
import type { VideoTools } from './tools.js';

// What a video file is, from ffprobe's JSON: duration, frame rate (and whether it varies), size as displayed
// (rotation applied), codec, streams. Every way a file can be unusable becomes a typed error naming the file.

const RationalString = z.string().regex(/^-?\d+\/-?\d+$/);

const ProbeStreamSchema = z.looseObject({
  index: z.number().int(),
  codec_type: z.string().optional(),
  codec_name: z.string().optional(),
  width: z.number().int().optional(),
  height: z.number().int().optional(),
  r_frame_rate: RationalString.optional(),
  avg_frame_rate: RationalString.optional(),
  nb_frames: z.string().optional(),
  duration: z.string().optional(),
  start_time: z.string().optional(),
  disposition: z.looseObject({ attached_pic: z.number().optional() }).optional(),
  tags: z.record(z.string(), z.string()).optional(),
  side_data_list: z.array(z.looseObject({ rotation: z.number().optional() })).optional(),
});
type ProbeStream = z.infer<typeof ProbeStreamSchema>;

const ProbeOutputSchema = z.object({
  streams: z.array(ProbeStreamSchema).default([]),
  format: z
    .looseObject({
      format_name: z.string().optional(),
      duration: z.string().optional(),
      start_time: z.string().optional(),
    })
    .optional(),
});

/** Packets read from the start of the video to see whether frame intervals vary. */
const vfrProbePackets = 240;
/** The most frames a codec holds back for reordering (H.264's and HEVC's DPB limit). */
const maxReorderFrames = 16;

export async function probeVideo(tools: VideoTools, file: string, signal?: AbortSignal): Promise<VideoMeta> {
  const sizeBytes = await checkFile(file);
  const { ffprobe } = await tools.require();
  const run = await runTool(
    ffprobe.path,
    ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', `file:${file}`],
    { signal },
  );
  if (run.code !== 0) throw await probeFailure(file, run);
  let json: unknown;
  try {
    json = JSON.parse(run.stdout.toString('utf8'));
  } catch {
    throw new AppError('FFMPEG_FAILED', `ffprobe gave unreadable output for ${file}`, run.stderr);
  }
  const parsed = ProbeOutputSchema.safeParse(json);
  if (!parsed.success)
    throw new AppError('FFMPEG_FAILED', `ffprobe gave unexpected output for ${file}`, parsed.error.message);
  const { streams, format } = parsed.data;
  // Cover art in audio files is a one-picture "video" stream; it is not a video.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  if (!video) {
    const kinds = streams.map((s) => s.codec_type ?? 'unknown').join(', ') || 'no streams';
    throw new AppError('NO_VIDEO_STREAM', `No video stream in ${file}`, `streams: ${kinds}`);
  }
  const codec = video.codec_name ?? 'unknown';
  if (!(await tools.decoders()).has(codec)) {
    throw new AppError(
      'UNSUPPORTED_CODEC',
      `The ffmpeg in use cannot decode ${codec} video: ${file}`,
      ffprobe.path,
    );
  }
  const storedWidth = video.width ?? 0;
  const storedHeight = video.height ?? 0;
  if (storedWidth <= 0 || storedHeight <= 0) {
    throw new AppError(
      'CORRUPT_MEDIA',
      `The video stream of ${file} has no frame size`,
      run.stderr.trim() || undefined,
    );
  }
  const durationSec = streamDuration(video) ?? positive(format?.duration);
  if (durationSec === undefined) {
    throw new AppError(
      'ZERO_DURATION',
      `The video in ${file} has no duration (a still image or a raw stream without timestamps?)`,
      `codec ${codec}`,
    );
  }
  const nominalFps = rate(video.r_frame_rate) ?? rate(video.avg_frame_rate);
  if (nominalFps === undefined) throw new AppError('CORRUPT_MEDIA', `The video in ${file} has no frame rate`);
  const fps = rate(video.avg_frame_rate) ?? nominalFps;
  const rotation = rotationOf(video);
  const quarterTurn = rotation % 180 !== 0;
  const frameCount =
    video.nb_frames !== undefined && /^\d+$/.test(video.nb_frames) ? Number(video.nb_frames) : null;
  const ratesDiffer = Math.abs(fps - nominalFps) / nominalFps > 0.005;
  const variableFrameRate = ratesDiffer || (await intervalsVary(ffprobe.path, file, video.index, signal));
  return {
    path: file,
    sizeBytes,
    container: format?.format_name ?? 'unknown',
    durationSec,
    startSec: Number(video.start_time ?? format?.start_time ?? 0) || 0,
    videoStreamIndex: video.index,
    codec,
    width: quarterTurn ? storedHeight : storedWidth,
    height: quarterTurn ? storedWidth : storedHeight,
    rotation,
    fps,
    nominalFps,
    variableFrameRate,
    frameCount: frameCount === 0 ? null : frameCount,
    streams: streams.map((s) => ({
      index: s.index,
      type: streamType(s.codec_type),
      codec: s.codec_name ?? 'unknown',
    })),
  };
}

/**
 * ffprobe picks the MP4 reader from a `.mp4` name and then reports a missing index ("moov atom not found") both
 * for a cut-off MP4 and for any other bytes under that name. Only a file that starts like an MP4 is a corrupt one.
 */
async function probeFailure(
  file: string,
  { code, signal, stderr }: Pick<ToolRun, 'code' | 'signal' | 'stderr'>,
): Promise<AppError> {
  const failure = toolFailure('ffprobe', file, code, stderr, signal);
  if (
    failure.code !== 'CORRUPT_MEDIA' ||
    !/moov atom not found/i.test(stderr) ||
    (await startsLikeMp4(file))
  ) {
    return failure;
  }
  return new AppError('NOT_MEDIA', `Not a media file: ${file}`, failure.detail);
}

async function startsLikeMp4(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await handle.read(head, 0, 8, 0);
    const box = head.toString('latin1', 4, 8);
    return bytesRead === 8 && ['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot'].includes(box);
  } finally {
    await handle.close();
  }
}

/** Size of a readable regular file, or the typed error saying why it is not one. */
async function checkFile(file: string): Promise<number> {
  let info;
  try {
    info = await stat(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new AppError('FILE_NOT_FOUND', `No such file: ${file}`);
    if (code === 'EACCES') throw new AppError('NOT_ALLOWED', `Permission denied: ${file}`);
    throw new AppError('FILE_NOT_FOUND', `Cannot read ${file}: ${code ?? String(err)}`);
  }
  if (!info.isFile()) throw new AppError('NOT_MEDIA', `Not a file: ${file}`);
  if (info.size === 0) throw new AppError('FILE_EMPTY', `The file is empty: ${file}`);
  return info.size;
}

/** The stream's own duration: ffprobe's field, or Matroska's per-stream DURATION tag; the container's is a fallback
 * only, as it also covers audio that may run longer than the video. */
function streamDuration(stream: ProbeStream): number | undefined {
  const own = positive(stream.duration);
  if (own !== undefined) return own;
  const tag = stream.tags?.DURATION ?? stream.tags?.duration;
  const match = tag === undefined ? null : /^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(tag);
  if (!match) return undefined;
  const seconds = Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]);
  return seconds > 0 ? seconds : undefined;
}

function positive(text: string | undefined): number | undefined {
  const value = text === undefined ? NaN : Number(text);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

function rate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const [num, den] = text.split('/').map(Number);
  if (num === undefined || den === undefined || !(num > 0) || !(den > 0)) return undefined;
  return num / den;
}

/** Display rotation in degrees, 0/90/180/270: the display matrix (current ffprobe) or the old `rotate` tag. */
function rotationOf(stream: ProbeStream): number {
  const fromMatrix = stream.side_data_list?.find((side) => side.rotation !== undefined)?.rotation;
  const degrees = fromMatrix ?? Number(stream.tags?.rotate ?? 0);
  if (!Number.isFinite(degrees)) return 0;
  return (((Math.round(degrees / 90) * 90) % 360) + 360) % 360;
}

function streamType(codecType: string | undefined): VideoMeta['streams'][number]['type'] {
  switch (codecType) {
    case 'video':
    case 'audio':
    case 'subtitle':
    case 'data':
    case 'attachment':
      return codecType;
    default:
      return 'unknown';
  }
}

/**
 * Whether frame intervals vary over the first packets. Containers such as Matroska report no average rate of
 * their own, so a variable rate only shows in the timestamps. Reads packets only (no decoding).
 */
async function intervalsVary(
  ffprobe: string,
  file: string,
  streamIndex: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const run = await runTool(
    ffprobe,
    [
      '-v',
      'error',
      '-select_streams',
      String(streamIndex),
      '-read_intervals',
      `%+#${vfrProbePackets}`,
      '-show_entries',
      'packet=pts_time',
      '-of',
      'csv=p=0',
      `file:${file}`,
    ],
    { signal },
  );
  if (run.code !== 0) return false;
  const times = run.stdout
    .toString('utf8')
    .split('\n')
    .map((line) => line.split(',')[0]?.trim() ?? '')
    .filter((field) => field !== '' && field !== 'N/A')
    .map(Number)
    .filter((t) => Number.isFinite(t))
    .sort((a, b) => a - b);
  // Packets come in decode order: where the window cut a reordered group (B-frames), the presentation times just
  // below its end still have holes. H.264/HEVC reorder at most 16 frames, so those last times are left out unless
  // the window held the whole stream.
  const settled = times.length >= vfrProbePackets ? times.slice(0, -maxReorderFrames) : times;
  const steps = settled
    .slice(1)
    .map((t, i) => t - (settled[i] ?? t))
    .filter((d) => d > 0);
  if (steps.length < 2) return false;
  const shortest = Math.min(...steps);
  const longest = Math.max(...steps);
  // Containers round timestamps (Matroska to 1 ms): allow that much jitter before calling the rate variable.
  return longest - shortest > Math.max(0.0015, shortest * 0.05);
}
