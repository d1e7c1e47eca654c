import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { EmitEvent } from '../../app/contract/contract.js';
import { AppError } from '../../app/contract/errors.js';
import { dispatch, type ApiContext } from '../dispatch/index.js';
import { createServices, type Services } from '../services/services.js';
import { rootsPolicy } from '../services/files/policy.js';
import { usageError } from './io.js';

// The CLI runs the same commands as the app, through the same dispatcher. A person at a shell may read any file
// they can read, so its file policy is the whole file system.

export async function withCliContext<T>(
  use: (ctx: ApiContext) => Promise<T>,
  emit: EmitEvent = () => undefined,
): Promise<T> {
  const services: Services = createServices();
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.once('SIGINT', onSignal);
  try {
    return await use({
      services,
      files: await rootsPolicy([path.parse(process.cwd()).root]),
      emit,
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    await services.close();
  }
}

/** Runs one command; its error becomes an AppError thrown here, its result is returned. */
export async function call(ctx: ApiContext, method: string, params: unknown): Promise<unknown> {
  const outcome = await dispatch(method, params, ctx);
  if (!outcome.ok) throw AppError.fromData(outcome.error);
  return outcome.result;
}

/** node:util parseArgs with its errors turned into BAD_REQUEST usage errors. */
export function parseCli<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err));
  }
}

export function absolute(file: string): string {
  return path.resolve(process.cwd(), file);
}
