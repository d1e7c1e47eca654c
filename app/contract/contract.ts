import { z } from 'zod';
import { DiagnosticsSchema } from './diagnostics.js';
import {
  AskParamsSchema,
  AskProgressSchema,
  AskStartedSchema,
  AskTokenSchema,
  EngineHostStatusSchema,
  HeadReportSchema,
  HeatmapEventSchema,
  ModelChoiceSchema,
  ModelChooseParamsSchema,
  ModelInfoSchema,
  ModelInspectParamsSchema,
} from './engine.js';
import { FileListingSchema } from './files.js';
import { CallerJobIdSchema, JobIdSchema } from './job-id.js';
import { JobDoneSchema, JobFailedSchema, JobProgressSchema } from './jobs.js';
import { patternCommands, patternEvents } from './patterns.js';
import { SamplingOptionsSchema, SamplingPlanSchema, VideoMetaSchema } from './video.js';

// The one typed API every process shares. A command is a method name with a params schema and a result schema;
// an event is a name with a payload schema. Both hosts serve the same handler table for `commands`, and the
// renderer's clients are typed from it. Add a command here and the compiler asks every side for it.
//
// Binary data (video bytes, thumbnails) is not here: it is fetched over HTTP, see ./media.ts. The sampling plan
// is not a command either: it is a pure rule (app/domain/sampling.ts) the renderer runs itself for its live
// estimate, and `video.decode` answers the plan it actually runs.

/** Sampling options as a request carries them: budgets must be consistent. */
export const SamplingRequestSchema = SamplingOptionsSchema.refine((o) => o.minFrames <= o.maxFrames, {
  message: 'minFrames must not exceed maxFrames',
  path: ['minFrames'],
}).refine((o) => o.minPixels <= o.maxPixels, {
  message: 'minPixels must not exceed maxPixels',
  path: ['minPixels'],
});

export const commands = {
  /** The resolved ffmpeg/ffprobe (path, version, source) and the engine's state. */
  'app.diagnostics': {
    params: z.object({}),
    result: DiagnosticsSchema,
  },
  /** Reads a video's metadata; fails with FILE_NOT_FOUND, FILE_EMPTY, NOT_MEDIA, NO_VIDEO_STREAM, CORRUPT_MEDIA,
   * UNSUPPORTED_CODEC, ZERO_DURATION or NOT_ALLOWED. */
  'video.probe': {
    params: z.object({ path: z.string().min(1) }),
    result: VideoMetaSchema,
  },
  /** Starts decoding the planned frames as a job; answers at once with its id and the plan it runs. */
  'video.decode': {
    params: z.object({
      path: z.string().min(1),
      options: SamplingRequestSchema,
      /** The caller's id for the job (see job-id.ts). */
      jobId: CallerJobIdSchema.optional(),
    }),
    result: z.object({ jobId: JobIdSchema, plan: SamplingPlanSchema }),
  },
  /** Stops a running job (it then ends with job.failed, code CANCELLED); JOB_NOT_FOUND if it is not running. */
  'job.cancel': {
    params: z.object({ jobId: JobIdSchema }),
    result: z.object({}),
  },
  /** Lists a folder inside the allowed roots, or the roots themselves when `dir` is left out. */
  'files.list': {
    params: z.object({ dir: z.string().min(1).optional() }),
    result: FileListingSchema,
  },
  /** Reads a model folder in the engine (config, weights' headers, tokenizer, chat template) without choosing it;
   * MODEL_INVALID names the file and tensor or key that is wrong. */
  'model.inspect': {
    params: ModelInspectParamsSchema,
    result: ModelInfoSchema,
  },
  /** Chooses the model (and optionally its pattern file) questions go to; dir null: the embedded demo model. */
  'model.choose': {
    params: ModelChooseParamsSchema,
    result: ModelChoiceSchema,
  },
  /** The model questions go to now (the embedded demo model until one is chosen). */
  'model.current': {
    params: z.object({}),
    result: ModelChoiceSchema,
  },
  /** The engine process: running or not, CPU or GPU, the last crash. */
  'engine.status': {
    params: z.object({}),
    result: EngineHostStatusSchema,
  },
  /** Stops the engine process (running asks fail with ENGINE_CRASHED) and starts a fresh one. */
  'engine.restart': {
    params: z.object({}),
    result: EngineHostStatusSchema,
  },
  /** Asks a question about a video as a job (see app/contract/engine.ts for its events and result). */
  'engine.ask': {
    params: AskParamsSchema,
    result: AskStartedSchema,
  },
  /** Pattern search, files, comparison and heatmap captures (see app/contract/patterns.ts). */
  ...patternCommands,
} as const;

export const events = {
  'job.progress': JobProgressSchema,
  'job.done': JobDoneSchema,
  'job.failed': JobFailedSchema,
  'engine.progress': AskProgressSchema,
  'engine.token': AskTokenSchema,
  'engine.head': HeadReportSchema,
  'engine.heatmap': HeatmapEventSchema,
  ...patternEvents,
} as const;

export type Commands = typeof commands;
export type CommandName = keyof Commands;
export type CommandParams<K extends CommandName> = z.infer<Commands[K]['params']>;
export type CommandResult<K extends CommandName> = z.infer<Commands[K]['result']>;

export type Events = typeof events;
export type EventName = keyof Events;
export type EventPayload<K extends EventName> = z.infer<Events[K]>;

export function isCommandName(name: string): name is CommandName {
  return Object.hasOwn(commands, name);
}
export function isEventName(name: string): name is EventName {
  return Object.hasOwn(events, name);
}

/** How services push an event to whoever listens (a window, a socket, the CLI's progress line). */
export type EmitEvent = <K extends EventName>(event: K, payload: EventPayload<K>) => void;

/** What the renderer calls, whichever transport carries it. */
export interface AppApi {
  call<K extends CommandName>(method: K, params: CommandParams<K>): Promise<CommandResult<K>>;
  on<K extends EventName>(event: K, listener: (payload: EventPayload<K>) => void): () => void;
}
