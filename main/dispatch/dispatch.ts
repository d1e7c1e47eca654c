import { commands, isCommandName, type CommandName } from '../../app/contract/contract.js';
import { AppError, toErrorData, type AppErrorData } from '../../app/contract/errors.js';
import type { RequestMessage, ResponseMessage } from '../../app/contract/protocol.js';
import type { ApiContext, Handlers } from './context.js';
import { handlers as defaultHandlers } from './handlers.js';

export type DispatchOutcome = { ok: true; result: unknown } | { ok: false; error: AppErrorData };

/**
 * Runs one command for either transport: checks the method name and the params against the contract, calls its
 * handler, checks the result. Never throws: every failure comes back as AppErrorData (BAD_REQUEST for an unknown
 * method or invalid params, INTERNAL for a result that breaks the contract, the handler's own error otherwise).
 */
export async function dispatch(
  method: string,
  rawParams: unknown,
  ctx: ApiContext,
  table: Handlers = defaultHandlers,
): Promise<DispatchOutcome> {
  try {
    if (!isCommandName(method)) throw new AppError('BAD_REQUEST', `Unknown method: ${method}`);
    return { ok: true, result: await run(method, rawParams, ctx, table) };
  } catch (err) {
    return { ok: false, error: toErrorData(err) };
  }
}

/** dispatch() wrapped in the wire format: one request message in, its response message out. */
export async function respond(
  request: RequestMessage,
  ctx: ApiContext,
  table: Handlers = defaultHandlers,
): Promise<ResponseMessage> {
  const outcome = await dispatch(request.method, request.params, ctx, table);
  return outcome.ok
    ? { kind: 'response', id: request.id, ok: true, result: outcome.result }
    : { kind: 'response', id: request.id, ok: false, error: outcome.error };
}

async function run<K extends CommandName>(
  method: K,
  rawParams: unknown,
  ctx: ApiContext,
  table: Handlers,
): Promise<unknown> {
  const spec = commands[method];
  const params = spec.params.safeParse(rawParams ?? {});
  if (!params.success) {
    throw new AppError('BAD_REQUEST', `Invalid params for ${method}`, params.error.message);
  }
  const handler = table[method] as (params: unknown, ctx: ApiContext) => Promise<unknown>;
  const result = spec.result.safeParse(await handler(params.data, ctx));
  if (!result.success) {
    throw new AppError('INTERNAL', `The ${method} handler returned an invalid result`, result.error.message);
  }
  return result.data;
}
