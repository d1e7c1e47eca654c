import { AppError } from '../contract/errors.js';
import type { SamplingOptions, SamplingPlan, VideoMeta } from '../contract/video.js';

// How a video becomes model input, as Qwen2.5-VL's own preprocessing (qwen-vl-utils `smart_resize`,
// `smart_nframes`, `fetch_video`) does it: frames sampled at a target rate, an even count (two frames make one
// temporal patch), every frame resized to sides that are multiples of 28 within per-frame and total pixel
// budgets. Pure, so the renderer's live estimate and the services' decode plan are the same numbers.

/** Side multiple of the resize rule: 14-pixel patches merged 2×2. */
export const sizeFactor = 28;
/** Frames per temporal patch. */
export const frameFactor = 2;
/** Largest long/short side ratio the model accepts. */
export const maxAspectRatio = 200;

/** qwen-vl-utils defaults for video. */
export const defaultSamplingOptions: SamplingOptions = {
  fps: 2,
  minFrames: 4,
  maxFrames: 768,
  minPixels: 128 * 28 * 28,
  maxPixels: 768 * 28 * 28,
  totalPixels: 128000 * 28 * 28 * 0.9,
};

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Qwen2.5-VL's smart_resize: the nearest size whose sides are multiples of `factor` and whose pixel count lies in
 * [minPixels, maxPixels], keeping the aspect ratio as closely as possible. Sides never drop below one factor.
 */
export function smartResize(
  height: number,
  width: number,
  minPixels: number,
  maxPixels: number,
  factor: number = sizeFactor,
): { height: number; width: number } {
  const ratio = Math.max(height, width) / Math.min(height, width);
  if (ratio > maxAspectRatio) {
    throw new AppError(
      'BAD_REQUEST',
      `The frame's aspect ratio ${ratio.toFixed(1)} exceeds the model's limit of ${maxAspectRatio}`,
      `${width}x${height}`,
    );
  }
  let h = Math.max(factor, roundHalfEven(height / factor) * factor);
  let w = Math.max(factor, roundHalfEven(width / factor) * factor);
  if (h * w > maxPixels) {
    const beta = Math.sqrt((height * width) / maxPixels);
    h = Math.max(factor, Math.floor(height / beta / factor) * factor);
    w = Math.max(factor, Math.floor(width / beta / factor) * factor);
  } else if (h * w < minPixels) {
    const beta = Math.sqrt(minPixels / (height * width));
    h = Math.ceil((height * beta) / factor) * factor;
    w = Math.ceil((width * beta) / factor) * factor;
  }
  return { height: h, width: w };
}

/**
 * qwen-vl-utils' smart_nframes: `fps` frames per second of video, clamped to [minFrames, maxFrames] rounded to
 * even counts and to the frames the video has, then floored to an even count. A one-frame video (where the
 * original raises) gives 2: its frame repeated, as the model's processor does for an odd count.
 */
export function frameCount(totalFrames: number, videoFps: number, options: SamplingOptions): number {
  const minFrames = Math.ceil(options.minFrames / frameFactor) * frameFactor;
  const maxFrames = Math.floor(Math.min(options.maxFrames, totalFrames) / frameFactor) * frameFactor;
  const wanted = (totalFrames / videoFps) * options.fps;
  const n = Math.min(Math.min(Math.max(wanted, minFrames), maxFrames), totalFrames);
  return Math.max(frameFactor, Math.floor(n / frameFactor) * frameFactor);
}

/**
 * Indices of the sampled frames, exactly as qwen-vl-utils picks them: torch.linspace(0, total - 1, count).round().
 * torch computes the linspace in float32 (one fused multiply-add from the nearer end: start + step·i for the first
 * half, end − step·(count − 1 − i) for the second) and rounds halves to even. Long videos hit values within a
 * float32 rounding of .5, so the reference's frames are picked only when this arithmetic is reproduced.
 */
export function frameIndices(totalFrames: number, count: number): number[] {
  if (count <= 1 || totalFrames <= 1) return Array.from({ length: count }, () => 0);
  const f32 = Math.fround;
  const end = f32(totalFrames - 1);
  const step = f32(end / (count - 1));
  const half = Math.floor(count / 2);
  // step·i and end − step·j are exact in float64 here (at most 48 significant bits), so one fround is the single
  // rounding of torch's fused multiply-add.
  return Array.from({ length: count }, (_, i) =>
    roundHalfEven(i < half ? f32(step * i) : f32(end - step * (count - 1 - i))),
  );
}

/** The frames a video has, from its metadata: the container's count when known, else duration × rate. */
export function totalFrames(meta: Pick<VideoMeta, 'durationSec' | 'fps' | 'frameCount'>): number {
  if (meta.frameCount !== null && meta.frameCount > 0) return meta.frameCount;
  return Math.max(1, Math.round(meta.durationSec * meta.fps));
}

/** Per-frame pixel cap from the total budget, as qwen-vl-utils' fetch_video computes it. */
export function perFramePixelCap(frames: number, options: SamplingOptions): number {
  const fromTotal = (options.totalPixels / frames) * frameFactor;
  const cap = Math.max(Math.min(options.maxPixels, fromTotal), Math.trunc(options.minPixels * 1.05));
  return Math.min(options.maxPixels, cap);
}

/** LLM tokens for `frames` frames of `width`×`height` (already multiples of 28): one per 28×28 per frame pair. */
export function visualTokens(frames: number, width: number, height: number): number {
  return Math.ceil(frames / frameFactor) * (height / sizeFactor) * (width / sizeFactor);
}

/** The whole plan for one video: which frames, at what size, and how many tokens they become. */
export function planSampling(
  meta: Pick<VideoMeta, 'durationSec' | 'fps' | 'frameCount' | 'width' | 'height'>,
  options: SamplingOptions,
): SamplingPlan {
  const total = totalFrames(meta);
  const count = frameCount(total, meta.fps, options);
  const times = frameIndices(total, count).map((index) => index / meta.fps);
  const size = smartResize(meta.height, meta.width, options.minPixels, perFramePixelCap(count, options));
  const gridT = count / frameFactor;
  const gridH = size.height / (sizeFactor / 2);
  const gridW = size.width / (sizeFactor / 2);
  return {
    times,
    width: size.width,
    height: size.height,
    sampleFps: (count / total) * meta.fps,
    gridT,
    gridH,
    gridW,
    visualTokens: visualTokens(count, size.width, size.height),
  };
}

/**
 * The shortest and longest step between sampled frames, in seconds. Frames are whole frames spread evenly over
 * indices 0…N−1 (frameIndices), so the steps alternate between two neighbouring frame counts (at 2 fps of a
 * 30 fps video: 15 and 16 frames, 0.500 and 0.533 s).
 */
export function sampleSpacing(times: readonly number[]): { shortest: number; longest: number } | null {
  if (times.length < 2) return null;
  let shortest = Infinity;
  let longest = 0;
  for (let i = 1; i < times.length; i++) {
    const step = (times[i] ?? 0) - (times[i - 1] ?? 0);
    shortest = Math.min(shortest, step);
    longest = Math.max(longest, step);
  }
  return { shortest, longest };
}
