import { z } from 'zod';
import { candidatePresets } from '../domain/pattern-candidates.js';
import { HeadReportSchema, HeatmapEventSchema, PatternNameSchema } from './engine.js';
import { CallerJobIdSchema, JobIdSchema } from './job-id.js';
import { CandidateSchema, PatternFileSchema } from './pattern-file.js';
import { SamplingOptionsSchema, SamplingPlanSchema } from './video.js';

// The researcher's workbench in the contract: the offline pattern search on calibration videos, pattern files
// (listed, loaded and checked), a comparison of two files (or one against dense) on a video, and one layer's
// heatmaps under a file. Search, compare and heatmaps are jobs run by a worker process of their own (the model's
// work never runs in the app's process); their progress arrives as `patterns.progress`, their outcome as job.done
// ({ kind: 'patterns.search' | 'patterns.compare' | 'patterns.heatmaps' }) or job.failed.
//
//   patterns.search  → { jobId, out, plans }    patterns.progress per video decoded, encoded and layer scored
//   patterns.compare → { jobId }                patterns.progress per run (dense, a, b) and stage
//   patterns.heatmaps → { jobId }               one pre-fill of the video with the file, heatmaps of the heads asked

/** Where a search, comparison or heatmap capture runs on: a model folder, or (left out) the model questions go to. */
const ModelParamSchema = z.string().min(1).optional();

/** The question of a calibration prompt (prompts are built as for a first question: the video, then this). */
export const defaultCalibrationQuestion = 'Describe what happens in this video in detail.';

export const SearchParamsSchema = z.object({
  model: ModelParamSchema,
  videos: z.array(z.string().min(1)).min(1).max(64),
  question: z.string().trim().min(1).max(20000).optional(),
  /** Overrides of the default sampling (app/domain/sampling.ts), the same for every video. */
  sampling: SamplingOptionsSchema.partial().optional(),
  /** Kernel tiles / dense causal tiles a head may cost (default: the preset's, else 0.1). */
  costTarget: z.number().min(0).max(1).optional(),
  /** Query rows recall is measured on (default 64). */
  recallSamples: z.number().int().min(1).max(1048576).optional(),
  /** A preset (app/domain/pattern-candidates.ts) or the candidates themselves; default: the engine's. */
  candidates: z.union([z.enum(candidatePresets), z.array(CandidateSchema).min(1).max(4096)]).optional(),
  /** The file to write; left out: a new file in the app's pattern folder. It must lie in a folder the caller may
   * list. Its checkpoint is the same path with `.ckpt` added. */
  out: z.string().min(1).optional(),
  /** Continue from the checkpoint of an interrupted search with the same inputs and settings (if there is one). */
  resume: z.boolean().optional(),
  /** The caller's id for the job (see job-id.ts). */
  jobId: CallerJobIdSchema.optional(),
});
export type SearchParams = z.infer<typeof SearchParamsSchema>;

export const SearchStartedSchema = z.object({
  jobId: JobIdSchema,
  /** The file the search writes. */
  out: z.string(),
  checkpoint: z.string(),
  /** How each video is sampled, in order. */
  plans: z.array(SamplingPlanSchema),
  model: z.string(),
});
export type SearchStarted = z.infer<typeof SearchStartedSchema>;

export const patternStages = ['queued', 'load', 'video', 'vision', 'search', 'prefill', 'decode'] as const;
export const PatternStageSchema = z.enum(patternStages);
export type PatternStage = z.infer<typeof PatternStageSchema>;

/**
 * Progress of a search, comparison or heatmap capture. Units: load 0/1 → 1/1; video: frames decoded; vision:
 * temporal patches encoded; search: (video, layer) units scored, with the video and the layer just finished;
 * prefill: layers; decode: tokens. `item` says which video (search) or which run (compare: 'dense', 'a', 'b').
 */
export const PatternProgressSchema = z.object({
  jobId: JobIdSchema,
  stage: PatternStageSchema,
  done: z.number().int().nonnegative(),
  total: z.number().int().nonnegative().nullable(),
  item: z.string().optional(),
  /** search: the video (0-based) and layer just scored, of how many. */
  video: z.number().int().nonnegative().optional(),
  videos: z.number().int().positive().optional(),
  layer: z.number().int().nonnegative().optional(),
  layers: z.number().int().positive().optional(),
});
export type PatternProgress = z.infer<typeof PatternProgressSchema>;

const countsShape = Object.fromEntries(
  PatternNameSchema.options.map((name) => [name, z.number().int().nonnegative()]),
) as Record<z.infer<typeof PatternNameSchema>, z.ZodNumber>;
export const PatternCountsSchema = z.object(countsShape);

/** app/domain/pattern-summary.ts's summary. */
export const PatternSummarySchema = z.object({
  family: z.string(),
  layers: z.number().int().positive(),
  heads: z.number().int().positive(),
  counts: PatternCountsSchema,
  perLayer: z.array(
    z.object({
      layer: z.number().int().nonnegative(),
      counts: PatternCountsSchema,
      meanRecall: z.number().nullable(),
      meanDensity: z.number().nullable(),
    }),
  ),
  meanRecall: z.number().nullable(),
  meanDensity: z.number().nullable(),
  meanCost: z.number().nullable(),
  inputs: z.array(z.object({ name: z.string(), tokens: z.number(), videoTokens: z.number() })),
  costTarget: z.number().nullable(),
  candidates: z.number().int().nullable(),
});

export const SearchOutcomeSchema = z.object({
  out: z.string(),
  summary: PatternSummarySchema,
  /** (video, layer) units taken from the checkpoint rather than computed. */
  resumedUnits: z.number().int().nonnegative(),
  elapsedMs: z.number().nonnegative(),
});
export type SearchOutcome = z.infer<typeof SearchOutcomeSchema>;

export const PatternFileEntrySchema = z.object({
  path: z.string(),
  name: z.string(),
  sizeBytes: z.number().int().nonnegative(),
  modifiedMs: z.number(),
  /** Null when the file does not read as a pattern file (then `problem` says why). */
  summary: PatternSummarySchema.nullable(),
  problem: z.string().nullable(),
});
export type PatternFileEntry = z.infer<typeof PatternFileEntrySchema>;

export const LoadParamsSchema = z.object({
  path: z.string().min(1),
  /** Also check the file against this model folder; left out: the model questions go to. null: no check. */
  model: z.string().min(1).nullable().optional(),
});

export const LoadedPatternFileSchema = z.object({
  path: z.string(),
  file: PatternFileSchema,
  summary: PatternSummarySchema,
  /** Whether the file was made for the model it was checked against (null: not checked), and why not. */
  fitsModel: z.boolean().nullable(),
  problem: z.string().nullable(),
});
export type LoadedPatternFile = z.infer<typeof LoadedPatternFileSchema>;

export const CompareParamsSchema = z.object({
  model: ModelParamSchema,
  video: z.string().min(1),
  question: z.string().trim().min(1).max(20000).optional(),
  sampling: SamplingOptionsSchema.partial().optional(),
  a: z.string().min(1),
  /** The second file; null: dense attention. */
  b: z.string().min(1).nullable(),
  /** Greedy answer tokens decoded after each pre-fill, for the agreement (default 16). */
  maxTokens: z.number().int().min(1).max(1024).optional(),
  /** The caller's id for the job (see job-id.ts). */
  jobId: CallerJobIdSchema.optional(),
});
export type CompareParams = z.infer<typeof CompareParamsSchema>;

export const compareRuns = ['dense', 'a', 'b'] as const;

/** One head under one run. */
const HeadUnderRunSchema = z.object({
  pattern: PatternNameSchema,
  applied: PatternNameSchema,
  density: z.number().min(0).max(1),
  recall: z.number().min(0).max(1).nullable(),
  /** The file's calibration cost for this head (1 for dense; null for a hand-written file). */
  cost: z.number().nonnegative().nullable(),
  attentionMs: z.number().nonnegative(),
});

export const CompareRunSchema = z.object({
  run: z.enum(compareRuns),
  /** The file, or null for dense. */
  patterns: z.string().nullable(),
  prefillMs: z.number().nonnegative(),
  /** Attention and index estimation summed over the heads (they run in parallel: more than their share of time). */
  attentionMs: z.number().nonnegative(),
  estimationMs: z.number().nonnegative(),
  /** Pre-fill time the file's costs predict: the dense run's time with each head's attention scaled by its cost. */
  predictedMs: z.number().nonnegative().nullable(),
  /** Kept (row, key) pairs over causal pairs, all heads. */
  density: z.number().min(0).max(1),
  meanRecall: z.number().min(0).max(1).nullable(),
  tokens: z.array(z.number().int().nonnegative()),
  answer: z.string(),
});
export type CompareRun = z.infer<typeof CompareRunSchema>;

export const ComparisonSchema = z.object({
  video: z.string(),
  plan: SamplingPlanSchema,
  promptTokens: z.number().int().positive(),
  /** The dense reference first, then a and b (b absent when it is dense). */
  runs: z.array(CompareRunSchema),
  heads: z.array(
    z.object({
      layer: z.number().int().nonnegative(),
      head: z.number().int().nonnegative(),
      a: HeadUnderRunSchema,
      b: HeadUnderRunSchema,
    }),
  ),
  /** Greedy answers of a and b: the tokens they share from the start, the positions that match, and of how many. */
  agreement: z.object({
    prefix: z.number().int().nonnegative(),
    matching: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
  }),
});
export type Comparison = z.infer<typeof ComparisonSchema>;

export const HeatmapsParamsSchema = z.object({
  model: ModelParamSchema,
  video: z.string().min(1),
  question: z.string().trim().min(1).max(20000).optional(),
  sampling: SamplingOptionsSchema.partial().optional(),
  /** The pattern file the pre-fill runs with (at any prompt length); null: dense. */
  patterns: z.string().min(1).nullable(),
  /** The heads whose heatmaps to capture. */
  heads: z
    .array(z.object({ layer: z.number().int().nonnegative(), head: z.number().int().nonnegative() }))
    .min(1)
    .max(4096),
  grid: z.number().int().min(4).max(512).optional(),
  samples: z.number().int().min(2).max(4096).optional(),
  /** The caller's id for the job (see job-id.ts). */
  jobId: CallerJobIdSchema.optional(),
});
export type HeatmapsParams = z.infer<typeof HeatmapsParamsSchema>;

/** A captured head: its heatmap (as engine.heatmap carries it, without a job id) and what it did. */
export const CapturedHeadSchema = z.object({
  heatmap: HeatmapEventSchema.omit({ jobId: true }),
  report: HeadReportSchema.omit({ jobId: true }),
});
export type CapturedHead = z.infer<typeof CapturedHeadSchema>;

export const HeatmapsOutcomeSchema = z.object({
  video: z.string(),
  patterns: z.string().nullable(),
  promptTokens: z.number().int().positive(),
  heads: z.array(CapturedHeadSchema),
});
export type HeatmapsOutcome = z.infer<typeof HeatmapsOutcomeSchema>;

export const patternCommands = {
  /** Starts a pattern search on calibration videos as a job (see above). */
  'patterns.search': { params: SearchParamsSchema, result: SearchStartedSchema },
  /** The pattern files in the app's pattern folder, newest first, with their summaries; and the file questions are
   * pre-filled with now (the current model's), wherever it lies, or null when they run dense. */
  'patterns.list': {
    params: z.object({}),
    result: z.object({
      dir: z.string(),
      files: z.array(PatternFileEntrySchema),
      inUse: PatternFileEntrySchema.nullable(),
    }),
  },
  /** Reads and checks a pattern file (the app's own, or one the caller may read); PATTERN_FILE_INVALID names the
   * field. */
  'patterns.load': { params: LoadParamsSchema, result: LoadedPatternFileSchema },
  /** Compares two pattern files, or one against dense, on a video, as a job. */
  'patterns.compare': { params: CompareParamsSchema, result: z.object({ jobId: JobIdSchema }) },
  /** Captures heatmaps of chosen heads under a pattern file on a video, as a job. */
  'patterns.heatmaps': { params: HeatmapsParamsSchema, result: z.object({ jobId: JobIdSchema }) },
} as const;

export const patternEvents = {
  'patterns.progress': PatternProgressSchema,
} as const;

/** The jobs' results, for app/contract/jobs.ts. */
export const patternJobResults = [
  z.object({ kind: z.literal('patterns.search'), search: SearchOutcomeSchema }),
  z.object({ kind: z.literal('patterns.compare'), comparison: ComparisonSchema }),
  z.object({ kind: z.literal('patterns.heatmaps'), heatmaps: HeatmapsOutcomeSchema }),
] as const;
