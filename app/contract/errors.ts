import { z } from 'zod';

// Errors cross every boundary as values: a stable code a program can branch on and a message a person can read.
export const errorCodes = [
  // input and validation
  'BAD_REQUEST',
  'NOT_ALLOWED',
  // files and video
  'FILE_NOT_FOUND',
  'FILE_EMPTY',
  'FILE_UNWRITABLE',
  'NOT_MEDIA',
  'NO_VIDEO_STREAM',
  'CORRUPT_MEDIA',
  'UNSUPPORTED_CODEC',
  'ZERO_DURATION',
  'FFMPEG_MISSING',
  'FFMPEG_FAILED',
  // jobs
  'CANCELLED',
  'JOB_NOT_FOUND',
  'JOB_ID_IN_USE',
  // engine and models
  'ENGINE_UNAVAILABLE',
  'ENGINE_CRASHED',
  'ENGINE_BUSY',
  'MODEL_INVALID',
  'PATTERN_FILE_INVALID',
  'OUT_OF_MEMORY',
  'INTERNAL',
] as const;

export const ErrorCodeSchema = z.enum(errorCodes);
export type ErrorCode = z.infer<typeof ErrorCodeSchema>;

export const AppErrorSchema = z.object({
  code: ErrorCodeSchema,
  message: z.string(),
  /** The file, tool output or field the error is about, when there is one. */
  detail: z.string().optional(),
});
export type AppErrorData = z.infer<typeof AppErrorSchema>;

/** Thrown inside a process; serialised to AppErrorData at its edge. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  constructor(code: ErrorCode, message: string, detail?: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.detail = detail;
  }
  toData(): AppErrorData {
    return this.detail === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, detail: this.detail };
  }
  static fromData(data: AppErrorData): AppError {
    return new AppError(data.code, data.message, data.detail);
  }
}

/** Any thrown value as error data; unknown failures become INTERNAL without leaking a stack. */
export function toErrorData(err: unknown): AppErrorData {
  if (err instanceof AppError) return err.toData();
  if (err instanceof Error && err.name === 'AbortError') return { code: 'CANCELLED', message: 'Cancelled' };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message };
}
