import { z } from 'zod';

// Job ids. A caller names the job it starts (`jobId` in the starting command), so it listens for the job's events
// before the first one can arrive; the services make an id for a caller that does not. Kept apart from jobs.ts,
// which imports the modules whose commands start jobs.

export const JobIdSchema = z.string().min(1);

/** The id a caller gives a job it starts: a UUID, unique among the running jobs (JOB_ID_IN_USE otherwise). */
export const CallerJobIdSchema = z.uuid();

/** A new random (v4) job id. Built on getRandomValues, which pages served over plain http also have. */
export function newJobId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
