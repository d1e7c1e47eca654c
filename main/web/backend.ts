import type { EventMessage, RequestMessage, ResponseMessage } from '../../app/contract/protocol.js';
import {
  createMediaHandler,
  eventMessage,
  respond,
  type FileAccessPolicy,
  type Services,
} from '../dispatch/index.js';

// What a host serves, whatever its transport: the one dispatcher (commands and their events) and the media
// handler (binary data under /api/), both behind one file policy. The web host and Electron main each build one.

/** One caller of the API: a socket or a window. */
export interface Caller {
  /** Sends an event (a job's progress and outcome) to this caller alone. */
  emit(message: EventMessage): void;
  /** Aborts when the caller goes away; the jobs it started are cancelled. */
  signal: AbortSignal;
}

export interface HostBackend {
  /** Answers one request; errors come back as `ok: false` responses, never as rejections. */
  respond(request: RequestMessage, caller: Caller): Promise<ResponseMessage>;
  /** GETs under /api/ (media with Range, thumbnails). */
  http(request: Request): Promise<Response>;
}

export function createHostBackend(services: Services, files: FileAccessPolicy): HostBackend {
  return {
    respond: (request, caller) =>
      respond(request, {
        services,
        files,
        signal: caller.signal,
        emit: (event, payload) => caller.emit(eventMessage(event, payload)),
      }),
    http: createMediaHandler(services, files),
  };
}
