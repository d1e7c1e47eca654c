import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { EventMessage, RequestMessage, ResponseMessage } from '../../../../app/contract/protocol.js';
import type { Caller, HostBackend } from '../../../../main/web/backend.js';
import { startWebHost, type WebHost } from '../../../../main/web/host.js';

// The web host's doors, over real sockets, in front of a backend that records what got through.

const token = 'test-token-0123456789';
let rendererDir: string;
let host: WebHost;
const dispatched: RequestMessage[] = [];
const httpSeen: string[] = [];
const callers: Caller[] = [];

const backend: HostBackend = {
  async respond(request, caller) {
    dispatched.push(request);
    callers.push(caller);
    return { kind: 'response', id: request.id, ok: true, result: { echoed: request.method } };
  },
  async http(request) {
    httpSeen.push(new URL(request.url).pathname + new URL(request.url).search);
    return new Response('media bytes', { headers: { 'content-type': 'application/octet-stream' } });
  },
};

beforeAll(async () => {
  rendererDir = await mkdtemp(path.join(tmpdir(), 'mmi-host-test-'));
  await writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>t</title>');
  host = await startWebHost({ backend, rendererDir, token });
});
afterAll(async () => {
  await host.close();
  await rm(rendererDir, { recursive: true, force: true });
});

/** A raw GET, so the test controls Host and Origin exactly (fetch would not let it set Host). */
function get(
  pathAndQuery: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(host.origin);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: pathAndQuery, headers: { host: url.host, ...headers } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function connect(
  query: string,
  headers: Record<string, string> = {},
  socketPath = '/api/ws',
): Promise<WebSocket> {
  const ws = new WebSocket(`${host.origin.replace('http', 'ws')}${socketPath}${query}`, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    ws.once('error', reject);
  });
}

function nextMessage(ws: WebSocket): Promise<unknown> {
  return new Promise((resolve) => ws.once('message', (data: Buffer) => resolve(JSON.parse(data.toString()))));
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => ws.once('close', (code: number) => resolve(code)));
}

describe('web host', () => {
  it('listens on loopback and prints a page URL that carries the token', () => {
    expect(new URL(host.url).hostname).toBe('127.0.0.1');
    expect(new URL(host.url).searchParams.get('token')).toBe(token);
  });

  it("bound to every address on request, prints this machine's name and still wants the token", async () => {
    const open = await startWebHost({ backend, rendererDir, token, bindAddress: '0.0.0.0' });
    try {
      const url = new URL(open.url);
      expect(url.hostname).toBe(hostname().toLowerCase());
      const api = `http://127.0.0.1:${url.port}/api/media/video?path=%2Fv.mp4`;
      expect((await fetch(api)).status).toBe(401);
      expect((await fetch(`${api}&token=${token}`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('answers unparsable requests with 400 and keeps serving', async () => {
    const open = await startWebHost({ backend, rendererDir, token, bindAddress: '0.0.0.0' });
    try {
      const port = Number(new URL(open.url).port);
      const raw = (text: string) =>
        new Promise<string>((resolve, reject) => {
          const socket = tcpConnect(port, '127.0.0.1', () => socket.end(text));
          let answer = '';
          socket.on('data', (chunk) => (answer += chunk.toString()));
          socket.on('end', () => resolve(answer));
          socket.on('error', reject);
        });
      // Bound to every address, any Host passes the guard, so a Host no URL can hold reaches the host's own code.
      const answer = await raw(
        `GET /api/media/video?token=${token} HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n`,
      );
      expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(answer).toContain('malformed request');
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });

  it('serves the page without the token, but not to a foreign Host or Origin', async () => {
    expect((await get('/')).status).toBe(200);
    expect((await get('/', { host: 'evil.example' })).status).toBe(403);
    expect((await get('/', { origin: 'http://evil.example' })).status).toBe(403);
  });

  it('answers API GETs only with the token, and hands the handler a URL without it', async () => {
    httpSeen.length = 0;
    expect((await get('/api/media/video?path=%2Fv.mp4')).status).toBe(401);
    expect((await get('/api/media/video?path=%2Fv.mp4&token=wrong')).status).toBe(401);
    expect(
      (await get(`/api/media/video?path=%2Fv.mp4&token=${token}`, { origin: 'http://evil.example' })).status,
    ).toBe(403);
    expect(httpSeen).toEqual([]);
    const ok = await get(`/api/media/video?path=%2Fv.mp4&token=${token}`);
    expect(ok).toEqual({ status: 200, body: 'media bytes' });
    expect((await get('/api/media/video?path=%2Fv.mp4', { 'x-mmi-token': token })).status).toBe(200);
    expect(httpSeen).toEqual(['/api/media/video?path=%2Fv.mp4', '/api/media/video?path=%2Fv.mp4']);
  });

  it('refuses a WebSocket without the token, from a foreign Origin, or to another path', async () => {
    await expect(connect('')).rejects.toThrow('HTTP 401');
    await expect(connect('?token=nope')).rejects.toThrow('HTTP 401');
    await expect(connect(`?token=${token}`, { origin: 'http://evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect(`?token=${token}`, { host: 'evil.example' })).rejects.toThrow('HTTP 403');
    await expect(connect(`?token=${token}`, {}, '/api/other')).rejects.toThrow('HTTP 404');
  });

  it('carries valid requests to the dispatcher and answers each by id', async () => {
    const ws = await connect(`?token=${token}`, { origin: host.origin });
    dispatched.length = 0;
    const request = { kind: 'request', id: 41, method: 'video.probe', params: { path: '/v.mp4' } };
    ws.send(JSON.stringify(request));
    const response = (await nextMessage(ws)) as ResponseMessage;
    expect(response).toEqual({ kind: 'response', id: 41, ok: true, result: { echoed: 'video.probe' } });
    expect(dispatched).toEqual([request]);
    ws.close();
  });

  it('answers an invalid request with BAD_REQUEST without dispatching it, and drops a client that sends garbage', async () => {
    const ws = await connect(`?token=${token}`);
    dispatched.length = 0;
    ws.send(JSON.stringify({ kind: 'request', id: 5, method: 17 }));
    expect(await nextMessage(ws)).toMatchObject({
      kind: 'response',
      id: 5,
      ok: false,
      error: { code: 'BAD_REQUEST' },
    });
    const code = closed(ws);
    ws.send('{not json');
    expect(await code).toBe(1008);
    expect(dispatched).toEqual([]);
  });

  it('closes a socket that sends an oversized message, and keeps serving others', async () => {
    const ws = await connect(`?token=${token}`);
    const code = closed(ws);
    ws.send('x'.repeat(2 << 20));
    expect(await code).toBe(1009);
    const other = await connect(`?token=${token}`);
    other.send(JSON.stringify({ kind: 'request', id: 9, method: 'app.diagnostics', params: {} }));
    expect(await nextMessage(other)).toMatchObject({ id: 9, ok: true });
    other.close();
  });

  it("pushes a caller's events to that caller alone, and tells its jobs when it leaves", async () => {
    const [a, b] = [await connect(`?token=${token}`), await connect(`?token=${token}`)];
    callers.length = 0;
    a.send(JSON.stringify({ kind: 'request', id: 1, method: 'video.decode', params: {} }));
    await nextMessage(a);
    const [caller] = callers;
    if (!caller) throw new Error('the request reached no backend');
    const event: EventMessage = {
      kind: 'event',
      event: 'job.progress',
      payload: { jobId: 'j1', done: 1, total: 2 },
    };
    const atA = nextMessage(a);
    let atB = 0;
    b.on('message', () => atB++);
    caller.emit(event);
    expect(await atA).toEqual(event);
    expect(caller.signal.aborted).toBe(false);
    const aborted = new Promise((resolve) => caller.signal.addEventListener('abort', resolve));
    a.close();
    await aborted;
    // b answered a request after the event was sent, so had the event reached b it would have arrived first.
    b.send(JSON.stringify({ kind: 'request', id: 2, method: 'app.diagnostics', params: {} }));
    await nextMessage(b);
    expect(atB).toBe(1);
    b.close();
  });
});
