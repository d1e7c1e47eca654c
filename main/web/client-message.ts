import type { AppErrorData } from '../../app/contract/errors.js';
import { RequestMessageSchema, type RequestMessage } from '../../app/contract/protocol.js';

/** Largest message a client may send; requests are small JSON (paths and options), never media. */
export const maxClientMessageBytes = 1 << 20;

export type ClientMessageVerdict =
  | { ok: true; request: RequestMessage }
  /** `id` is the request's id when one could be read, so the client can be answered; null means: drop the client. */
  | { ok: false; id: number | null; error: AppErrorData };

// One text frame from a WebSocket client, checked against the wire schema before anything acts on it. The
// command's params are checked against their own schema by the dispatcher, the same way for both transports.
export function parseClientMessage(text: string): ClientMessageVerdict {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, id: null, error: { code: 'BAD_REQUEST', message: 'A message is not valid JSON' } };
  }
  const parsed = RequestMessageSchema.safeParse(raw);
  if (parsed.success) return { ok: true, request: parsed.data };
  const id = readId(raw);
  return {
    ok: false,
    id,
    error: { code: 'BAD_REQUEST', message: 'A message is not a valid request', detail: parsed.error.message },
  };
}

function readId(raw: unknown): number | null {
  if (typeof raw !== 'object' || raw === null || !('id' in raw)) return null;
  const { id } = raw;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 ? id : null;
}
