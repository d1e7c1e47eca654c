// Typed errors of the native engine and the two ways its calls are made from TypeScript: jobs (a native thread
// that settles a promise; AbortSignal cancels it) and quick synchronous calls. Both turn the addon's errors into
// MmiError, whose `code` a program branches on and whose `kind`, `file` and `subject` say what exactly was wrong
// (e.g. kind 'TensorShape', file 'model.safetensors', subject 'visual.blocks.0.attn.qkv.weight').
import type { NativeJob } from './addon.js';

export const mmiErrorCodes = [
  'MMI_INVALID_ARGUMENT',
  'MMI_NON_FINITE',
  'MMI_CANCELLED',
  'MMI_OUT_OF_MEMORY',
  'MMI_INTERNAL',
  'MMI_NOT_FOUND',
  'MMI_MODEL_INVALID',
  'MMI_UNSUPPORTED_MODEL',
  'MMI_PATTERN_FILE_INVALID',
  'MMI_DEVICE_UNAVAILABLE',
  'MMI_DEVICE_ERROR',
  'MMI_ADDON_UNAVAILABLE',
] as const;
export type MmiErrorCode = (typeof mmiErrorCodes)[number];

const CODES: ReadonlySet<string> = new Set<string>(mmiErrorCodes);

export interface MmiErrorDetail {
  /** The engine's own error kind, e.g. 'TensorShape', 'FileNotFound', 'WrongModel'. */
  kind?: string;
  /** The file concerned. */
  file?: string;
  /** The tensor, config key or JSON path concerned. */
  subject?: string;
}

export class MmiError extends Error {
  override readonly name = 'MmiError';
  readonly kind: string | undefined;
  readonly file: string | undefined;
  readonly subject: string | undefined;
  constructor(
    readonly code: MmiErrorCode,
    message: string,
    options?: { cause?: unknown } & MmiErrorDetail,
  ) {
    super(message, options);
    this.kind = options?.kind;
    this.file = options?.file;
    this.subject = options?.subject;
  }
}

function text(e: Error, key: string): string | undefined {
  const value: unknown = Reflect.get(e, key);
  return typeof value === 'string' ? value : undefined;
}

/** Engine errors become MmiError; anything else (a callback that threw) passes through unchanged. */
export function toMmiError(e: unknown): unknown {
  if (e instanceof MmiError || !(e instanceof Error)) return e;
  const code = text(e, 'code');
  if (code === undefined || !CODES.has(code)) return e;
  return new MmiError(code as MmiErrorCode, e.message, {
    cause: e,
    kind: text(e, 'kind'),
    file: text(e, 'file'),
    subject: text(e, 'subject'),
  });
}

/** Starts a native job and waits for it; aborting `signal` cancels it (the promise rejects MMI_CANCELLED). */
export async function runJob<T>(signal: AbortSignal | undefined, start: () => NativeJob<T>): Promise<T> {
  if (signal?.aborted)
    throw new MmiError('MMI_CANCELLED', 'cancelled before it started', { cause: signal.reason });
  let job: NativeJob<T>;
  try {
    job = start();
  } catch (e) {
    throw toMmiError(e);
  }
  const cancel = () => job.cancel();
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    return await job.promise;
  } catch (e) {
    throw toMmiError(e);
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
}

/** A quick synchronous addon call, its errors as MmiError. */
export function callSync<T>(body: () => T): T {
  try {
    return body();
  } catch (e) {
    throw toMmiError(e);
  }
}
