import { z } from 'zod';
import { AskResultSchema } from './engine.js';
import { AppErrorSchema } from './errors.js';
import { JobIdSchema } from './job-id.js';
import { patternJobResults } from './patterns.js';
import { DecodeSummarySchema } from './video.js';

// Long work runs as a job: a command starts it and answers its id at once; progress and the outcome arrive as
// events carrying that id; `job.cancel` stops it. Every job ends with exactly one job.done or job.failed.

export { CallerJobIdSchema, JobIdSchema, newJobId } from './job-id.js';

/** A finished job's result, by kind. */
export const JobResultSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('video.decode'), summary: DecodeSummarySchema }),
  z.object({ kind: z.literal('engine.ask'), answer: AskResultSchema }),
  ...patternJobResults,
]);
export type JobResult = z.infer<typeof JobResultSchema>;
export type JobKind = JobResult['kind'];

export const JobProgressSchema = z.object({
  jobId: JobIdSchema,
  done: z.number().nonnegative(),
  total: z.number().nonnegative(),
  message: z.string().optional(),
});
export type JobProgress = z.infer<typeof JobProgressSchema>;

export const JobDoneSchema = z.object({ jobId: JobIdSchema, result: JobResultSchema });
export type JobDone = z.infer<typeof JobDoneSchema>;

/** A failed or cancelled job (code CANCELLED). */
export const JobFailedSchema = z.object({ jobId: JobIdSchema, error: AppErrorSchema });
export type JobFailed = z.infer<typeof JobFailedSchema>;
