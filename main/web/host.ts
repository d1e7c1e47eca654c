import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { EventMessage, ResponseMessage } from '../../app/contract/protocol.js';
import { resourcePaths } from '../services/resources.js';
import type { HostBackend } from './backend.js';
import { maxClientMessageBytes, parseClientMessage } from './client-message.js';
import { sendWebResponse, toWebRequest } from './node-http.js';
import { contentSecurityPolicy, createRendererFiles, securityHeaders } from './renderer-files.js';
import {
  checkApiRequest,
  checkSite,
  loopbackHosts,
  type GuardConfig,
  type RequestFacts,
} from './request-guard.js';

// The web host: the built renderer and the app's API served to a browser. Commands and events travel over one
// WebSocket (/api/ws), binary data (media, thumbnails) over plain GETs under /api/. Every API request needs the
// per-run token, and every request a Host naming this server and no foreign Origin.

export interface WebHostOptions {
  backend: HostBackend;
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Address to bind; loopback unless the user explicitly asks for another. */
  bindAddress?: string;
  /** The built renderer; dist/renderer beside the compiled host by default. */
  rendererDir?: string;
  /** The per-run secret; random unless a test fixes it. */
  token?: string;
}

export interface WebHost {
  /** The page URL, token included: what the user opens. */
  url: string;
  origin: string;
  token: string;
  close(): Promise<void>;
}

export const socketPath = '/api/ws';
const loopbackAddresses = new Set(['127.0.0.1', '::1', 'localhost']);

export function defaultRendererDir(): string {
  return resourcePaths().renderer;
}

export async function startWebHost(options: WebHostOptions): Promise<WebHost> {
  const rendererDir = options.rendererDir ?? defaultRendererDir();
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    throw new Error(
      `The renderer is not built (${rendererDir} has no index.html): run \`npm run build\` first`,
    );
  }
  const bindAddress = options.bindAddress ?? '127.0.0.1';
  const token = options.token ?? randomBytes(24).toString('base64url');
  const { backend } = options;

  const server = createServer();
  const sockets = new WebSocketServer({ noServer: true, maxPayload: maxClientMessageBytes });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const guard: GuardConfig = {
    token,
    allowedHosts: loopbackAddresses.has(bindAddress) ? loopbackHosts(port) : null,
  };
  // Bound to every address, the URL to print names this machine; a browser cannot open 0.0.0.0.
  const shownAddress = bindAddress === '0.0.0.0' || bindAddress === '::' ? hostname() : bindAddress;
  const pageHost = shownAddress.includes(':') ? `[${shownAddress}]:${port}` : `${shownAddress}:${port}`;
  const origin = `http://${pageHost}`;
  const files = createRendererFiles(rendererDir, (request) => {
    const host = new URL(request.url).host;
    return contentSecurityPolicy([`ws://${host}`]);
  });

  server.on('request', (req, res) => {
    const deny = (status: number, reason: string): void => {
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...securityHeaders });
      res.end(`${statusText[status] ?? 'Error'}: ${reason}\n`);
    };
    // A URL or Host that does not parse gets a 400, never an exception that would stop the host.
    let facts: RequestFacts;
    let request: Request;
    try {
      facts = readFacts(req);
      const site = checkSite(facts, guard);
      if (!site.ok) return deny(site.status, site.reason);
      const target = targetUrl(req.url);
      request = toWebRequest(
        req,
        res,
        new URL(`http://${facts.host ?? pageHost}${target.pathname}${target.search}`),
      );
    } catch {
      return deny(400, 'malformed request');
    }
    const url = new URL(request.url);
    let handler: Promise<Response>;
    if (url.pathname === '/api' || url.pathname.startsWith('/api/')) {
      const verdict = checkApiRequest(facts, guard);
      if (!verdict.ok) return deny(verdict.status, verdict.reason);
      // The token stays at the door: handlers see the URL without it.
      url.searchParams.delete('token');
      // The API's answers get the page's headers too: a media file is never sniffed into a page of this origin.
      handler = backend.http(new Request(url, request)).then((response) => {
        for (const [name, value] of Object.entries(securityHeaders)) response.headers.set(name, value);
        return response;
      });
    } else {
      handler = files(request);
    }
    handler
      .catch(() => new Response('Internal error', { status: 500 }))
      .then((response) => sendWebResponse(res, response))
      .catch(() => res.destroy());
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    let status: number;
    try {
      const facts = readFacts(req);
      const verdict = checkApiRequest(facts, guard);
      status = !verdict.ok ? verdict.status : targetUrl(req.url).pathname !== socketPath ? 404 : 101;
    } catch {
      status = 400;
    }
    if (status !== 101) {
      socket.end(`HTTP/1.1 ${status} ${statusText[status] ?? 'Error'}\r\nConnection: close\r\n\r\n`);
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, backend));
  });

  return {
    url: `${origin}/?token=${token}`,
    origin,
    token,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

const statusText: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
};

/**
 * The request target on a placeholder origin. Only the origin form (`/path?query`) is served: an absolute
 * request line (`GET http://other.site/…`) or a `//name/…` path would otherwise set the URL's host, and the page
 * and its CSP would be built for a site the Host check never saw.
 */
function targetUrl(target: string | undefined): URL {
  if (target === undefined || !target.startsWith('/')) throw new Error('not an origin-form request target');
  return new URL(`http://placeholder${target}`);
}

function readFacts(req: IncomingMessage): RequestFacts {
  const url = targetUrl(req.url);
  const headerToken = req.headers['x-mmi-token'];
  return {
    host: req.headers.host,
    origin: req.headers.origin,
    token: url.searchParams.get('token') ?? (typeof headerToken === 'string' ? headerToken : null),
  };
}

/** One client: requests in, responses and its own jobs' events out. Its jobs are cancelled when it leaves. */
function serveSocket(ws: WebSocket, backend: HostBackend): void {
  const gone = new AbortController();
  const send = (message: ResponseMessage | EventMessage): void => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const caller = { emit: send, signal: gone.signal };
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      ws.close(1003, 'binary messages are not accepted');
      return;
    }
    const verdict = parseClientMessage(data.toString());
    if (!verdict.ok) {
      if (verdict.id === null) ws.close(1008, verdict.error.message);
      else send({ kind: 'response', id: verdict.id, ok: false, error: verdict.error });
      return;
    }
    void backend.respond(verdict.request, caller).then(send);
  });
  ws.on('close', () => gone.abort());
  // A protocol violation (an oversized or malformed frame) closes this socket; it must not stop the host.
  ws.on('error', () => ws.terminate());
}
