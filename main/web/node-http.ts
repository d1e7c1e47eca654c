import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

// Node's http objects ↔ WHATWG Request/Response, so the handlers stay pure `(Request) => Promise<Response>`
// functions that Electron's protocol.handle can call unchanged. The Request's signal aborts when the client goes.

/** url: the request's URL, built by the caller from the target it accepted (never from an absolute request line). */
export function toWebRequest(req: IncomingMessage, res: ServerResponse, url: URL): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const controller = new AbortController();
  res.on('close', () => controller.abort());
  // The API is read-only over HTTP (commands go over the socket), so no request body is ever forwarded.
  return new Request(url, {
    method: req.method ?? 'GET',
    headers,
    signal: controller.signal,
  });
}

export async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    headers[name] = value;
  });
  const setCookie = response.headers.getSetCookie();
  if (setCookie.length > 0) headers['set-cookie'] = setCookie;
  res.writeHead(response.status, response.statusText, headers);
  if (response.body === null) {
    res.end();
    return;
  }
  try {
    await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), res);
  } catch (err) {
    // A client that goes away mid-stream (a seeking <video>) is normal; anything else ends the response.
    if (!res.destroyed) res.destroy(err instanceof Error ? err : undefined);
  }
}
