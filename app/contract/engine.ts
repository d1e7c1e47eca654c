import { z } from 'zod';
import { CallerJobIdSchema, JobIdSchema } from './job-id.js';
import { SamplingOptionsSchema, SamplingPlanSchema } from './video.js';

// The engine's part of the contract: choosing a model, asking a question about a video, and what comes back while
// the engine works. The engine runs in its own process (docs/architecture.md §1); these schemas are what the UI sees of it.
//
// Flow of one question:
//   engine.ask → { jobId, conversationId, plan, model }      answers at once
//   engine.progress  { stage: 'queued' | 'load' | 'video' | 'vision' | 'prefill' | 'decode', done, total }
//   engine.head      one per (layer, head) of the pre-fill: which pattern ran, its density and recall
//   engine.heatmap   for the heads asked for: attention mass grids (original and permuted order), mask, recall
//   engine.token     each answer token as it is generated, with its text
//   job.done         { kind: 'engine.ask', answer: AskResult }   or job.failed (CANCELLED, ENGINE_CRASHED, ...)
// A follow-up passes the conversationId it got: the video's KV cache is reused and only the new turn is
// pre-filled (AskResult.prefilledTokens / cachedTokens say so).
//
// Heatmap grids travel as base64 of little-endian float32 (G×G, row-major: row bin × key bin); decodeF32 reads
// them in the browser and in Node alike.

/** The sparse attention patterns a pattern file assigns per (layer, head) (kernels/README.md). */
export const patternNames = [
  'dense',
  'a_shape',
  'vertical_slash',
  'block_sparse',
  'grid',
  'q_boundary',
  'two_d_boundary',
] as const;
export const PatternNameSchema = z.enum(patternNames);
export type PatternName = z.infer<typeof PatternNameSchema>;

// ---- models -----------------------------------------------------------------------------------------------------

/** What a model folder holds, for the model picker. */
export const ModelInfoSchema = z.object({
  /** The folder, as the engine resolved it. */
  dir: z.string(),
  /** "qwen2_5_vl". */
  family: z.string(),
  visionLayers: z.number().int().positive(),
  textLayers: z.number().int().positive(),
  hidden: z.number().int().positive(),
  heads: z.number().int().positive(),
  kvHeads: z.number().int().positive(),
  headDim: z.number().int().positive(),
  vocab: z.number().int().positive(),
  tensors: z.number().int().nonnegative(),
  weightBytes: z.number().int().nonnegative(),
  /** Weight dtypes as safetensors names them ("BF16", "F32", ...). */
  dtypes: z.array(z.string()),
  /** Weight files, relative to dir. */
  files: z.array(z.string()),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

/** The model questions go to: a folder the user chose, or the embedded demo model when none is chosen. */
export const ModelChoiceSchema = z.object({
  dir: z.string(),
  /** True for the bundled demo model (trained only on synthetic videos: it knows nothing else). */
  embedded: z.boolean(),
  /** A sentence to show beside every answer of this model, or null. */
  notice: z.string().nullable(),
  /** The bundled short needle video, offered when the embedded model is in use; null otherwise. */
  demoVideo: z.string().nullable(),
  /** Pattern file used for sparse pre-fill when an ask names none; null: dense attention. */
  patterns: z.string().nullable(),
  info: ModelInfoSchema,
});
export type ModelChoice = z.infer<typeof ModelChoiceSchema>;

export const ModelInspectParamsSchema = z.object({ dir: z.string().min(1) });

/** dir null (or left out): back to the embedded default. patterns: a pattern file for this model, or null. */
export const ModelChooseParamsSchema = z.object({
  dir: z.string().min(1).nullable().optional(),
  patterns: z.string().min(1).nullable().optional(),
});

// ---- engine status ------------------------------------------------------------------------------------------------

export const engineStates = ['stopped', 'starting', 'ready', 'busy', 'crashed'] as const;
export const EngineStateSchema = z.enum(engineStates);
export type EngineState = z.infer<typeof EngineStateSchema>;

/** Where the engine computes, as the engine process itself found it. */
export const EngineBackendSchema = z.object({
  /** What questions run on now. */
  device: z.enum(['cpu', 'gpu']),
  /** CPU worker threads. */
  cpuThreads: z.number().int().nonnegative(),
  /** Whether this build holds the CUDA backend at all. */
  cudaBuilt: z.boolean(),
  /** GPUs the CUDA runtime reports (0 without a driver or device, or when not built with CUDA). */
  gpus: z.number().int().nonnegative(),
  /** One line for people, e.g. "CPU, 2 threads; no GPU: CUDA driver not found". */
  detail: z.string(),
});
export type EngineBackend = z.infer<typeof EngineBackendSchema>;

export const EngineCrashSchema = z.object({
  message: z.string(),
  /** ISO time. */
  at: z.string(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
});

export const EngineHostStatusSchema = z.object({
  state: EngineStateSchema,
  /** The engine process, while it runs. */
  pid: z.number().int().nullable(),
  /** Null until the engine process has started and reported it. */
  backend: EngineBackendSchema.nullable(),
  /** The model questions go to now. */
  model: ModelChoiceSchema.nullable(),
  /** The last time the engine process died unexpectedly; cleared by nothing (restarts keep it for the record). */
  lastCrash: EngineCrashSchema.nullable(),
  /** Times the engine process was started again after a crash or by engine.restart. */
  restarts: z.number().int().nonnegative(),
});
export type EngineHostStatus = z.infer<typeof EngineHostStatusSchema>;

// ---- asking -------------------------------------------------------------------------------------------------------

/** Answer tokens at most unless asked otherwise: the same for the app, mmi ask and the API. */
export const defaultMaxAnswerTokens = 256;

export const GenerationOptionsSchema = z.object({
  /** Answer tokens at most (the stop token included). */
  maxTokens: z.number().int().min(1).max(32768).default(defaultMaxAnswerTokens),
  /** 0: greedy. */
  temperature: z.number().min(0).max(5).default(0),
  topP: z.number().gt(0).max(1).default(1),
  /** 0: no limit. */
  topK: z.number().int().nonnegative().default(0),
  seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).default(0),
});
export type GenerationOptions = z.infer<typeof GenerationOptionsSchema>;

export const HeadRefSchema = z.object({
  layer: z.number().int().nonnegative(),
  head: z.number().int().nonnegative(),
});
export type HeadRef = z.infer<typeof HeadRefSchema>;

export const HeatmapRequestSchema = z.object({
  /** Which (layer, head) pairs to capture; 'all' for every head of every layer. */
  heads: z.union([z.literal('all'), z.array(HeadRefSchema).min(1).max(4096)]),
  /** G: each map is G×G (default heatmapDefaults.grid). */
  grid: z.number().int().min(4).max(512).optional(),
  /** Query rows sampled evenly, first and last included (default heatmapDefaults.samples). */
  samples: z.number().int().min(2).max(4096).optional(),
});
export type HeatmapRequest = z.infer<typeof HeatmapRequestSchema>;
export const heatmapDefaults = { grid: 64, samples: 64 } as const;

export const AskParamsSchema = z.object({
  /** The video file; left out: the bundled demo video (only while the embedded model is chosen). */
  video: z.string().min(1).optional(),
  question: z.string().trim().min(1).max(20000),
  /** Continue this conversation (same video and model): only the new turn is pre-filled. */
  conversationId: z.string().min(1).optional(),
  /** Overrides of the default sampling (app/domain/sampling.ts); ignored for follow-ups. */
  sampling: SamplingOptionsSchema.partial().optional(),
  generation: GenerationOptionsSchema.partial().optional(),
  /** Pattern file for this question; left out: the model choice's; null: dense attention. */
  patterns: z.string().min(1).nullable().optional(),
  /** Heatmaps to capture during pre-fill (none when left out). */
  heatmaps: HeatmapRequestSchema.optional(),
  /** The caller's id for the job (see job-id.ts). */
  jobId: CallerJobIdSchema.optional(),
});
export type AskParams = z.infer<typeof AskParamsSchema>;

export const AskStartedSchema = z.object({
  jobId: JobIdSchema,
  conversationId: z.string(),
  /** 0 for the first question about the video, then 1, 2, ... for follow-ups. */
  turn: z.number().int().nonnegative(),
  /** How the video is sampled (the first turn's plan for follow-ups). */
  plan: SamplingPlanSchema,
  video: z.string(),
  model: ModelChoiceSchema,
});
export type AskStarted = z.infer<typeof AskStartedSchema>;

export const askStages = ['queued', 'load', 'video', 'vision', 'prefill', 'decode'] as const;
export const AskStageSchema = z.enum(askStages);
export type AskStage = z.infer<typeof AskStageSchema>;

/**
 * Progress of one stage of an ask. Units: load 0/1 → 1/1; video: frames decoded; vision: temporal patches
 * encoded; prefill: layers done; decode: tokens generated (total is maxTokens). total is null when unknown.
 */
export const AskProgressSchema = z.object({
  jobId: JobIdSchema,
  stage: AskStageSchema,
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative().nullable(),
});
export type AskProgress = z.infer<typeof AskProgressSchema>;

export const AskTokenSchema = z.object({
  jobId: JobIdSchema,
  /** 0-based position in the answer. */
  index: z.number().int().nonnegative(),
  token: z.number().int().nonnegative(),
  /** Text this token adds to the answer (may be empty while a multi-byte character is incomplete). */
  text: z.string(),
});
export type AskToken = z.infer<typeof AskTokenSchema>;

export const denseReasons = [
  'none',
  'no_pattern_file',
  'pattern_is_dense',
  'short_prompt',
  'recall_floor',
  'continued_queries',
] as const;

/** What one head of the pre-fill did. */
export const HeadReportSchema = z.object({
  jobId: JobIdSchema,
  layer: z.number().int().nonnegative(),
  head: z.number().int().nonnegative(),
  /** The pattern file's choice, and what actually ran. */
  planned: PatternNameSchema,
  applied: PatternNameSchema,
  /** Why it ran dense ('none' when its sparse pattern ran). */
  denseReason: z.enum(denseReasons),
  queries: z.number().int().nonnegative(),
  keys: z.number().int().nonnegative(),
  /** Kept (row, key) pairs over causal pairs. */
  density: z.number().min(0).max(1),
  /** Recall on this prompt: the share of the head's dense attention mass its estimated index keeps, mean over
   * evenly sampled query rows; measured for sparse heads with a heatmap or under a recall floor, else null. */
  recall: z.number().min(0).max(1).nullable(),
  /** The same figure at calibration (the pattern file's search, on its calibration videos); null without one. */
  calibrationRecall: z.number().min(0).max(1).nullable(),
  estimationMs: z.number().nonnegative(),
  attentionMs: z.number().nonnegative(),
});
export type HeadReport = z.infer<typeof HeadReportSchema>;

/** base64 of little-endian float32 values. */
export const F32Base64Schema = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

export const GridChoiceSchema = z.object({
  start: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  stride: z.number().int().nonnegative(),
  phases: z.array(z.number().int().nonnegative()),
});

/** One head's attention during pre-fill, pooled to G×G (kernels/README.md "Heatmaps"). */
export const HeatmapEventSchema = z.object({
  jobId: JobIdSchema,
  layer: z.number().int().nonnegative(),
  head: z.number().int().nonnegative(),
  /** The pattern that ran for this head. */
  pattern: PatternNameSchema,
  /** G. */
  grid: z.number().int().positive(),
  /** Tokens of the sequence (bins are position · G / tokens). */
  tokens: z.number().int().positive(),
  /** Mean softmax mass of the sampled rows per cell, original token order (G×G f32). */
  mass: F32Base64Schema,
  /** The same in the pattern's permuted (kernel) order. */
  massPermuted: F32Base64Schema,
  /** Share of each cell's causal (row, key) pairs the mask keeps (G×G f32), original and permuted order. */
  mask: F32Base64Schema,
  maskPermuted: F32Base64Schema,
  /** Sampled rows per row bin (rows of bins without one are zero). */
  rowSamples: z.array(z.number().int().nonnegative()),
  rowSamplesPermuted: z.array(z.number().int().nonnegative()),
  /** Attention mass inside the mask, mean over sampled rows. */
  recall: z.number().min(0).max(1),
  /** Kept pairs over causal pairs of the sampled rows. */
  coverage: z.number().min(0).max(1),
  /** The grid pattern's stride and line phases per video run (empty for other patterns). */
  gridChoices: z.array(GridChoiceSchema),
});
export type HeatmapEvent = z.infer<typeof HeatmapEventSchema>;

export const AskTimingsSchema = z.object({
  /** Model load (0 when it was already loaded). */
  loadMs: z.number().nonnegative(),
  /** Decoding the sampled frames with ffmpeg, overlapped with vision (0 for follow-ups). */
  videoMs: z.number().nonnegative(),
  /** Vision tower (0 for follow-ups). */
  visionMs: z.number().nonnegative(),
  /** Language-model pre-fill of the new tokens. */
  prefillMs: z.number().nonnegative(),
  /** From the start of the job to the first answer token. */
  firstTokenMs: z.number().nonnegative().nullable(),
  /** Generating the answer. */
  decodeMs: z.number().nonnegative(),
  decodeTokensPerSec: z.number().nonnegative(),
  totalMs: z.number().nonnegative(),
});
export type AskTimings = z.infer<typeof AskTimingsSchema>;

export const AskResultSchema = z.object({
  conversationId: z.string(),
  turn: z.number().int().nonnegative(),
  answer: z.string(),
  tokens: z.array(z.number().int().nonnegative()),
  /** Why the answer ended. */
  stop: z.enum(['stop_token', 'max_tokens']),
  /** Tokens in the KV cache after the answer. */
  contextTokens: z.number().int().nonnegative(),
  /** Tokens this turn pre-filled (the whole prompt first, only the new turn for a follow-up). */
  prefilledTokens: z.number().int().nonnegative(),
  /** Tokens reused from the cache (0 on the first turn). */
  cachedTokens: z.number().int().nonnegative(),
  videoTokens: z.number().int().nonnegative(),
  device: z.enum(['cpu', 'gpu']),
  model: z.object({ dir: z.string(), embedded: z.boolean() }),
  /** Shown beside the answer (what the embedded demo model is and what it can answer). */
  notice: z.string().nullable(),
  patterns: z.string().nullable(),
  timings: AskTimingsSchema,
});
export type AskResult = z.infer<typeof AskResultSchema>;

// ---- binary helpers (browser and Node alike) ---------------------------------------------------------------------

/** Float32 values as base64 of their little-endian bytes. */
export function encodeF32(values: Float32Array): string {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  let binary = '';
  const step = 0x8000;
  for (let i = 0; i < bytes.length; i += step) {
    binary += String.fromCharCode(...bytes.subarray(i, i + step));
  }
  return btoa(binary);
}

/** The inverse of encodeF32; throws RangeError when the byte count is not a multiple of 4. */
export function decodeF32(text: string): Float32Array {
  const binary = atob(text);
  if (binary.length % 4 !== 0) throw new RangeError('float32 data must hold a multiple of 4 bytes');
  const view = new DataView(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) view.setUint8(i, binary.charCodeAt(i));
  const out = new Float32Array(binary.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}
