import { z } from 'zod';

// What the app knows about a video file and how it will be sampled for the model.

export const StreamInfoSchema = z.object({
  index: z.number().int(),
  type: z.enum(['video', 'audio', 'subtitle', 'data', 'attachment', 'unknown']),
  codec: z.string(),
});

export const VideoMetaSchema = z.object({
  path: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  container: z.string(),
  durationSec: z.number().positive(),
  /** Time of the video stream's first frame on the file's clock; sample times are counted from it. */
  startSec: z.number(),
  /** Index of the video stream used (the first one that is not cover art). */
  videoStreamIndex: z.number().int().nonnegative(),
  codec: z.string(),
  /** Width and height as displayed, i.e. after the rotation in the file's metadata. */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  rotation: z.number().int(),
  /** Average frame rate; for variable frame rates it differs from the nominal rate. */
  fps: z.number().positive(),
  nominalFps: z.number().positive(),
  variableFrameRate: z.boolean(),
  frameCount: z.number().int().nonnegative().nullable(),
  streams: z.array(StreamInfoSchema),
});
export type VideoMeta = z.infer<typeof VideoMetaSchema>;

export const SamplingOptionsSchema = z.object({
  fps: z.number().positive().max(60),
  minFrames: z.number().int().positive(),
  maxFrames: z.number().int().positive(),
  /** Per-frame pixel budget (Qwen2.5-VL min_pixels / max_pixels). */
  minPixels: z.number().int().positive(),
  maxPixels: z.number().int().positive(),
  /** Budget over all frames, in pixels; caps the per-frame size for long videos. */
  totalPixels: z.number().int().positive(),
});
export type SamplingOptions = z.infer<typeof SamplingOptionsSchema>;

export const SamplingPlanSchema = z.object({
  /** Presentation times of the sampled frames, in seconds, ascending; an even count (temporal patch 2). */
  times: z.array(z.number().nonnegative()),
  /** Frame size after the model's resize rule (multiples of 28). */
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** The sampling rate actually achieved (frames / duration); feeds second_per_grid_t. */
  sampleFps: z.number().positive(),
  gridT: z.number().int().positive(),
  gridH: z.number().int().positive(),
  gridW: z.number().int().positive(),
  /** Language-model tokens the video turns into: gridT · (gridH/2) · (gridW/2). */
  visualTokens: z.number().int().positive(),
});
export type SamplingPlan = z.infer<typeof SamplingPlanSchema>;

/** What a finished decode delivered: exactly the plan's frames, at the plan's size. */
export const DecodeSummarySchema = z.object({
  frames: z.number().int().nonnegative(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  bytes: z.number().int().nonnegative(),
  elapsedSec: z.number().nonnegative(),
});
export type DecodeSummary = z.infer<typeof DecodeSummarySchema>;
