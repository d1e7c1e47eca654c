import { z } from 'zod';
import { HeadRefSchema } from '../../../app/contract/engine.js';
import { AppErrorSchema } from '../../../app/contract/errors.js';
import { CandidateSchema } from '../../../app/contract/pattern-file.js';
import { PatternProgressSchema, patternJobResults } from '../../../app/contract/patterns.js';
import { VideoInputSchema } from '../engine/protocol.js';

// The messages between the app and a pattern worker (one process per search, comparison or heatmap capture),
// validated on arrival on both sides. The worker says `ready`, gets one `run`, reports `progress` and ends with
// `done` or `failed`, then exits; `cancel` stops it at the engine's next check (it then fails with CANCELLED).

const ModelSchema = z.object({
  dir: z.string().min(1),
  /** CPU threads; 0: one per core. */
  threads: z.number().int().nonnegative().max(1024),
});

/** A calibration or comparison video: decoded with ffmpeg by the worker, as the engine host does. */
const NamedVideoSchema = z.object({ name: z.string(), input: VideoInputSchema });

export const WorkerJobSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('search'),
    model: ModelSchema,
    videos: z.array(NamedVideoSchema).min(1),
    question: z.string().min(1),
    settings: z.object({
      costTarget: z.number().min(0).max(1).optional(),
      recallSamples: z.number().int().positive().optional(),
      candidates: z.array(CandidateSchema).min(1).optional(),
    }),
    out: z.string().min(1),
    checkpoint: z.string().min(1),
    resume: z.boolean(),
  }),
  z.object({
    kind: z.literal('compare'),
    model: ModelSchema,
    video: NamedVideoSchema,
    question: z.string().min(1),
    a: z.string().min(1),
    b: z.string().min(1).nullable(),
    maxTokens: z.number().int().positive(),
  }),
  z.object({
    kind: z.literal('heatmaps'),
    model: ModelSchema,
    video: NamedVideoSchema,
    question: z.string().min(1),
    patterns: z.string().min(1).nullable(),
    heads: z.array(HeadRefSchema).min(1),
    grid: z.number().int().positive(),
    samples: z.number().int().positive(),
  }),
]);
export type WorkerJob = z.infer<typeof WorkerJobSchema>;

export const WorkerResultSchema = z.discriminatedUnion('kind', [...patternJobResults]);
export type WorkerResult = z.infer<typeof WorkerResultSchema>;

export const WorkerProgressSchema = PatternProgressSchema.omit({ jobId: true });
export type WorkerProgress = z.infer<typeof WorkerProgressSchema>;

export const ToWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run'), job: WorkerJobSchema }),
  z.object({ type: z.literal('cancel') }),
]);
export type ToWorker = z.infer<typeof ToWorkerSchema>;

export const FromWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number().int() }),
  z.object({ type: z.literal('progress'), progress: WorkerProgressSchema }),
  z.object({ type: z.literal('done'), result: WorkerResultSchema }),
  z.object({ type: z.literal('failed'), error: AppErrorSchema }),
]);
export type FromWorker = z.infer<typeof FromWorkerSchema>;
