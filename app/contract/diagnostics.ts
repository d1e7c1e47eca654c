import { z } from 'zod';

// What the app runs on: the ffmpeg/ffprobe it resolved (and from where), and whether the engine is there. Shown
// in the diagnostics view and by `mmi doctor`.

export const toolSources = ['setting', 'env', 'npm', 'path'] as const;
export const ToolSourceSchema = z.enum(toolSources);
export type ToolSource = z.infer<typeof ToolSourceSchema>;

export const ToolStatusSchema = z.discriminatedUnion('found', [
  z.object({
    found: z.literal(true),
    path: z.string(),
    /** The first line of `-version`, e.g. "ffmpeg version 5.1.9-0+deb12u1". */
    version: z.string(),
    /** Where the binary came from: an explicit setting, FFMPEG_PATH/FFPROBE_PATH, an npm package, or PATH. */
    source: ToolSourceSchema,
  }),
  z.object({
    found: z.literal(false),
    /** Every place looked at and why it was not used. */
    reason: z.string(),
  }),
]);
export type ToolStatus = z.infer<typeof ToolStatusSchema>;

export const EngineStatusSchema = z.object({
  /** True only when the engine can actually run a model in this build. */
  available: z.boolean(),
  message: z.string(),
});
export type EngineStatus = z.infer<typeof EngineStatusSchema>;

export const DiagnosticsSchema = z.object({
  appVersion: z.string(),
  node: z.string(),
  platform: z.string(),
  ffmpeg: ToolStatusSchema,
  ffprobe: ToolStatusSchema,
  /** ffmpeg's hardware decoders (`-hwaccels`); empty when ffmpeg is missing. */
  hwaccels: z.array(z.string()),
  engine: EngineStatusSchema,
});
export type Diagnostics = z.infer<typeof DiagnosticsSchema>;
