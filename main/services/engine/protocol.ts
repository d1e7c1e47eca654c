import { z } from 'zod';
import {
  AskProgressSchema,
  AskResultSchema,
  AskTokenSchema,
  EngineBackendSchema,
  GenerationOptionsSchema,
  HeadReportSchema,
  HeatmapEventSchema,
  HeatmapRequestSchema,
  ModelInfoSchema,
} from '../../../app/contract/engine.js';
import { AppErrorSchema } from '../../../app/contract/errors.js';
import { SamplingPlanSchema, VideoMetaSchema } from '../../../app/contract/video.js';

// The messages between the app (main) and the engine host process, both ways validated on arrival: a message
// that does not parse is answered with BAD_REQUEST (when it carries a request id) and never takes either side
// down. Requests are answered by exactly one response; an ask's progress, tokens, head reports and heatmaps come
// as events tagged with its request id before its response.

/** Bumped with every change here: a host built from other sources refuses to talk (run `npm run build:ts`). */
export const ENGINE_PROTOCOL = 2;

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.union([
    z.string(),
    z.array(
      z.discriminatedUnion('type', [
        z.object({ type: z.literal('video') }),
        z.object({ type: z.literal('text'), text: z.string() }),
      ]),
    ),
  ]),
});

export const ModelRefSchema = z.object({
  dir: z.string().min(1),
  /** CPU threads; 0: one per core. */
  threads: z.number().int().nonnegative().max(1024),
  /** Where it computes; absent or 'auto': the GPU when one is usable, else the CPU (MMI_DEVICE in the engine's
   * environment overrides 'auto'). */
  device: z.enum(['auto', 'cpu', 'gpu']).optional(),
});
export type ModelRef = z.infer<typeof ModelRefSchema>;

export const InspectParamsSchema = z.object({
  model: ModelRefSchema,
  /** Also check this pattern file against the model. */
  patterns: z.string().min(1).nullable(),
});

export const InspectResultSchema = ModelInfoSchema.omit({ dir: true }).extend({
  /** Each head's pattern in the pattern file, [layer · heads + head]; null without one. */
  patternKinds: z.array(z.string()).nullable(),
});
export type InspectResult = z.infer<typeof InspectResultSchema>;

export const VideoInputSchema = z.object({
  ffmpeg: z.string().min(1),
  source: VideoMetaSchema.pick({
    path: true,
    fps: true,
    nominalFps: true,
    durationSec: true,
    startSec: true,
    videoStreamIndex: true,
  }),
  plan: SamplingPlanSchema,
});
export type VideoInput = z.infer<typeof VideoInputSchema>;

export const EngineAskParamsSchema = z.object({
  model: ModelRefSchema,
  conversationId: z.string().min(1),
  /** Earlier turns of this conversation: the first user message holds the video. Empty for a first question. */
  history: z.array(ChatMessageSchema),
  /** Whether the last answer of the history ended with its stop token (it is then in the cache already). */
  answerEnded: z.boolean(),
  question: z.string().min(1),
  /** The conversation's video; decoded and encoded only when its cache is not in the engine (first turn, or the
   * engine was restarted since). */
  video: VideoInputSchema,
  generation: GenerationOptionsSchema,
  patterns: z.string().min(1).nullable(),
  /** Prompts shorter than this run dense even with a pattern file (the engine's default when null). */
  denseBelowTokens: z.number().int().nonnegative().nullable(),
  heatmaps: HeatmapRequestSchema.nullable(),
});
export type EngineAskParams = z.infer<typeof EngineAskParamsSchema>;

export const EngineAskResultSchema = AskResultSchema.pick({
  answer: true,
  tokens: true,
  stop: true,
  contextTokens: true,
  prefilledTokens: true,
  cachedTokens: true,
  videoTokens: true,
  device: true,
  timings: true,
});
export type EngineAskResult = z.infer<typeof EngineAskResultSchema>;

export const engineMethods = {
  inspect: { params: InspectParamsSchema, result: InspectResultSchema },
  ask: { params: EngineAskParamsSchema, result: EngineAskResultSchema },
  /** Stops the ask with this request id (it answers CANCELLED); a no-op when it already ended. */
  cancel: { params: z.object({ requestId: z.number().int().nonnegative() }), result: z.object({}) },
  /** Drops a conversation's cache. */
  forget: { params: z.object({ conversationId: z.string().min(1) }), result: z.object({}) },
} as const;
export type EngineMethod = keyof typeof engineMethods;
export type EngineParams<M extends EngineMethod> = z.infer<(typeof engineMethods)[M]['params']>;
export type EngineResult<M extends EngineMethod> = z.infer<(typeof engineMethods)[M]['result']>;

export function isEngineMethod(name: string): name is EngineMethod {
  return Object.hasOwn(engineMethods, name);
}

// ---- messages -------------------------------------------------------------------------------------------------

export const HostRequestSchema = z.object({
  type: z.literal('request'),
  id: z.number().int().nonnegative(),
  method: z.string(),
  params: z.unknown(),
});
export type HostRequest = z.infer<typeof HostRequestSchema>;

// The app's event payloads without the job id (the app adds it: the engine knows requests, not jobs).
export const AskEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('progress'), payload: AskProgressSchema.omit({ jobId: true }) }),
  z.object({ event: z.literal('token'), payload: AskTokenSchema.omit({ jobId: true }) }),
  z.object({ event: z.literal('head'), payload: HeadReportSchema.omit({ jobId: true }) }),
  z.object({ event: z.literal('heatmap'), payload: HeatmapEventSchema.omit({ jobId: true }) }),
]);
export type AskEvent = z.infer<typeof AskEventSchema>;

const ResponseSchema = z.discriminatedUnion('ok', [
  z.object({
    type: z.literal('response'),
    id: z.number().int().nonnegative(),
    ok: z.literal(true),
    result: z.unknown(),
  }),
  z.object({
    type: z.literal('response'),
    id: z.number().int().nonnegative(),
    ok: z.literal(false),
    error: AppErrorSchema,
  }),
]);

export const HostMessageSchema = z.union([
  /** First message of a started host. */
  z.object({
    type: z.literal('ready'),
    protocol: z.number().int(),
    pid: z.number().int(),
    backend: EngineBackendSchema,
  }),
  /** The host cannot work (no addon): it exits after this. */
  z.object({ type: z.literal('fatal'), error: AppErrorSchema }),
  ResponseSchema,
  z.object({ type: z.literal('event'), requestId: z.number().int().nonnegative(), data: AskEventSchema }),
]);
export type HostMessage = z.infer<typeof HostMessageSchema>;
