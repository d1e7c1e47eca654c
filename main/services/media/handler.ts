import { AppError, toErrorData, type AppErrorData, type ErrorCode } from '../../../app/contract/errors.js';
import { mediaRoutes, ThumbnailQuerySchema, VideoQuerySchema } from '../../../app/contract/media.js';
import type { FileAccessPolicy } from '../files/policy.js';
import type { Services } from '../services.js';
import { serveFile } from './file-range.js';

// Binary data for the renderer as one pure `(Request) => Promise<Response>` function: the web host mounts it for
// GETs under /api/ (after checking its token), Electron's app:// protocol handler calls it for app://bundle/api/.
// Only the URL's path and query are read, so the origin it is mounted under does not matter. Every request is
// checked against the host's file policy. Errors are JSON AppErrorData with a matching HTTP status.

export type MediaHandler = (request: Request) => Promise<Response>;

export function createMediaHandler(services: Services, files: FileAccessPolicy): MediaHandler {
  return async (request) => {
    try {
      const url = new URL(request.url);
      const query = Object.fromEntries(url.searchParams);
      if (url.pathname === mediaRoutes.video) {
        const { path } = parse(VideoQuerySchema, query);
        return await serveFile(request, await files.checkRead(path));
      }
      if (url.pathname === mediaRoutes.thumbnail) {
        if (request.method !== 'GET')
          return new Response('Method not allowed', { status: 405, headers: { allow: 'GET' } });
        const { path, t, h } = parse(ThumbnailQuerySchema, query);
        const file = await files.checkRead(path);
        const meta = await services.probes.probe(file);
        // A seek keeps frames at or after the time: past the last frame there is none, so stay 1.5 frames inside.
        const time = Math.min(t, Math.max(0, meta.durationSec - 1.5 / meta.fps));
        const jpeg = await services.thumbnails.jpeg(meta, time, h, request.signal);
        return new Response(new Uint8Array(jpeg), {
          status: 200,
          headers: {
            'content-type': 'image/jpeg',
            'content-length': String(jpeg.length),
            'cache-control': 'private, max-age=3600',
          },
        });
      }
      return errorResponse({ code: 'BAD_REQUEST', message: `No such media route: ${url.pathname}` }, 404);
    } catch (err) {
      const data = toErrorData(err);
      return errorResponse(data, statusFor(data.code));
    }
  };
}

function parse<T>(
  schema: { safeParse(input: unknown): { success: true; data: T } | { success: false; error: Error } },
  query: unknown,
): T {
  const result = schema.safeParse(query);
  if (!result.success) throw new AppError('BAD_REQUEST', 'Invalid media query', result.error.message);
  return result.data;
}

function statusFor(code: ErrorCode): number {
  switch (code) {
    case 'BAD_REQUEST':
      return 400;
    case 'NOT_ALLOWED':
      return 403;
    case 'FILE_NOT_FOUND':
      return 404;
    case 'CANCELLED':
      return 499;
    case 'INTERNAL':
    case 'FFMPEG_MISSING':
    case 'FFMPEG_FAILED':
      return 500;
    default:
      return 422;
  }
}

function errorResponse(error: AppErrorData, status: number): Response {
  return new Response(JSON.stringify(error), { status, headers: { 'content-type': 'application/json' } });
}
