import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ResponseMessage } from '../../app/contract/protocol.js';
import { createServices, rootsPolicy, type Services } from '../../main/dispatch/index.js';
import { embeddedDefault } from '../../main/services/engine/embedded.js';
import { createHostBackend } from '../../main/web/backend.js';
import { startWebHost, type WebHost } from '../../main/web/host.js';

// The web host as an attacker meets it: raw HTTP requests written byte by byte (no client library to tidy the
// request line, the Host header or the encoding), in front of the real services and the roots policy. Each case
// must be refused (a 4xx, or a WebSocket that never opens) and no answer may carry a byte of the files outside the
// allowed folder; a few well-formed requests beside them must work, or the refusals would prove nothing. The
// totals are printed as `web attacks:` for bench/RESULTS.md.

const secret = `SECRET-${randomBytes(8).toString('hex')}`;
let work: string;
let root: string;
let outside: string;
let rendererDir: string;
let services: Services;
let host: WebHost;
let port: number;
let token: string;
let clip: string;

interface Answer {
  status: number;
  head: string;
  body: Buffer;
}

/** Sends `request` as is on a fresh connection; the answer's status line, headers and body (status 0: the
 * connection closed without an answer). A 101 is read up to its headers. */
function raw(request: string | Buffer, timeoutMs = 5_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms to ${String(request).split('\r\n')[0]}`));
    }, timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = (split < 0 ? all : all.subarray(0, split)).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, head, body: split < 0 ? Buffer.alloc(0) : all.subarray(split + 4) });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (Buffer.concat(chunks).toString('latin1').startsWith('HTTP/1.1 101')) {
        socket.destroy();
        finish();
      }
    });
    socket.on('end', finish);
    socket.on('close', finish);
    socket.on('error', () => undefined);
    socket.write(request);
  });
}

function get(target: string, headers: Record<string, string | null> = {}): string {
  const all: Record<string, string | null> = { Host: `127.0.0.1:${port}`, Connection: 'close', ...headers };
  const lines = Object.entries(all)
    .filter((entry): entry is [string, string] => entry[1] !== null)
    .map(([name, value]) => `${name}: ${value}`);
  return [`GET ${target} HTTP/1.1`, ...lines, '', ''].join('\r\n');
}

function upgrade(target: string, headers: Record<string, string | null> = {}): string {
  return get(target, {
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
    Origin: `http://127.0.0.1:${port}`,
    ...headers,
  });
}

const q = (value: string): string => encodeURIComponent(value);

interface Case {
  name: string;
  request: string;
}

interface Tally {
  tried: number;
  refused: number;
  lost: string[];
}
const tally: Tally = { tried: 0, refused: 0, lost: [] };

/** Runs the cases one after another; a case is lost when it is not refused or its answer leaks the secret. */
async function attack(cases: Case[]): Promise<string[]> {
  const lost: string[] = [];
  for (const c of cases) {
    tally.tried += 1;
    let answer: Answer;
    try {
      answer = await raw(c.request);
    } catch (err) {
      lost.push(`${c.name}: ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    const leaked = answer.body.includes(secret) || answer.head.includes(secret);
    const refused = answer.status >= 400 && answer.status < 500;
    if (refused && !leaked) tally.refused += 1;
    else lost.push(`${c.name}: HTTP ${answer.status}${leaked ? ', leaked the secret' : ''}`);
  }
  tally.lost.push(...lost);
  return lost;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'mmi-attacks-'));
  root = path.join(work, 'videos');
  outside = path.join(work, 'private');
  rendererDir = path.join(work, 'renderer');
  await Promise.all(
    [root, outside, rendererDir, `${root}-evil`, path.join(root, 'sub')].map((d) => mkdir(d)),
  );
  clip = path.join(root, 'clip.mp4');
  await copyFile(embeddedDefault().video, clip);
  for (const file of [path.join(outside, 'secret.mp4'), path.join(`${root}-evil`, 'secret.mp4')]) {
    await writeFile(file, secret);
  }
  await writeFile(path.join(work, 'beside-renderer.txt'), secret);
  await writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>page</title>');
  await symlink(path.join(outside, 'secret.mp4'), path.join(root, 'link-out.mp4'));
  await symlink(outside, path.join(root, 'linkdir'));
  execFileSync('mkfifo', [path.join(root, 'pipe.mp4')]);
  services = createServices();
  host = await startWebHost({
    backend: createHostBackend(services, await rootsPolicy([root])),
    rendererDir,
  });
  port = Number(new URL(host.origin).port);
  token = host.token;
});

afterAll(async () => {
  console.log(
    `web attacks: tried ${tally.tried}, refused ${tally.refused}, lost ${tally.lost.length}` +
      (tally.lost.length ? ` (${tally.lost.join('; ')})` : ''),
  );
  await host?.close();
  await services?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the web host under attack', () => {
  it('answers well-formed requests (so the refusals below are the guard’s, not a broken host)', async () => {
    const page = await raw(get('/'));
    expect(page.status).toBe(200);
    expect(page.head).toMatch(/content-security-policy: default-src 'none'/i);
    const media = await raw(get(`/api/media/video?path=${q(clip)}&token=${token}`));
    expect(media.status).toBe(200);
    expect(media.body.equals(await readFile(clip))).toBe(true);
    expect(media.head).toMatch(/x-content-type-options: nosniff/i);
    const byHeader = await raw(get(`/api/media/video?path=${q(clip)}`, { 'X-MMI-Token': token }));
    expect(byHeader.status).toBe(200);
    expect((await raw(upgrade(`/api/ws?token=${token}`))).status).toBe(101);
  });

  it('wants the token on every API route, HTTP and WebSocket', async () => {
    const routes = [
      `/api/media/video?path=${q(clip)}`,
      `/api/media/thumbnail?path=${q(clip)}&t=0&h=90`,
      '/api/media/nothing',
      '/api',
      '/api/',
      '/api/ws',
      '/api/files?dir=%2F',
    ];
    const wrong: [string, string, Record<string, string>][] = [
      ['no token', '', {}],
      ['empty token', 'token=', {}],
      ['wrong token', `token=${'x'.repeat(token.length)}`, {}],
      ['token with one more character', `token=${token}x`, {}],
      ['token less its last character', `token=${token.slice(0, -1)}`, {}],
      ['token in upper case', `token=${token.toUpperCase()}`, {}],
      ['token under another name', `Token=${token}`, {}],
      ['wrong token before the right one', `token=wrong&token=${token}`, {}],
      [
        'token percent-encoded twice',
        `token=${[...token].map((c) => `%25${c.charCodeAt(0).toString(16)}`).join('')}`,
        {},
      ],
      ['wrong token in the header', '', { 'X-MMI-Token': 'wrong' }],
      ['token in a cookie', '', { Cookie: `token=${token}` }],
      ['token as a bearer', '', { Authorization: `Bearer ${token}` }],
    ];
    const cases: Case[] = [];
    for (const route of routes) {
      for (const [what, query, headers] of wrong) {
        const target = query ? `${route}${route.includes('?') ? '&' : '?'}${query}` : route;
        cases.push({ name: `GET ${route}, ${what}`, request: get(target, headers) });
      }
    }
    for (const [what, query, headers] of wrong) {
      cases.push({
        name: `WebSocket, ${what}`,
        request: upgrade(`/api/ws${query ? `?${query}` : ''}`, headers),
      });
    }
    expect(await attack(cases)).toEqual([]);
  });

  it('refuses foreign Host names (DNS rebinding) and foreign Origins, on the page, the API and the socket', async () => {
    const hosts = [
      'evil.example',
      `evil.example:${port}`,
      `127.0.0.1:${port + 1}`,
      `localhost.evil.example:${port}`,
      `127.0.0.1.nip.io:${port}`,
      `127.0.0.1:${port}.evil.example`,
      `0x7f000001:${port}`,
      `2130706433:${port}`,
      `[::ffff:127.0.0.1]:${port}`,
      `127.1:${port}`,
      '127.0.0.1',
      `user@127.0.0.1:${port}`,
      '',
    ];
    const origins = [
      'http://evil.example',
      'null',
      `http://127.0.0.1:${port + 1}`,
      `https://127.0.0.1:${port}`,
      `http://localhost:${port}`,
      `http://127.0.0.1:${port}.evil.example`,
      'file://',
    ];
    const targets = ['/', '/index.html', `/api/media/video?path=${q(clip)}&token=${token}`];
    const cases: Case[] = [];
    for (const value of hosts) {
      for (const target of targets) {
        cases.push({ name: `GET ${target} as Host '${value}'`, request: get(target, { Host: value }) });
      }
      cases.push({
        name: `WebSocket as Host '${value}'`,
        request: upgrade(`/api/ws?token=${token}`, { Host: value, Origin: `http://${value}` }),
      });
    }
    cases.push({ name: 'GET / without a Host', request: get('/', { Host: null }) });
    cases.push({
      name: 'two Host headers',
      request: `GET /api/media/video?path=${q(clip)}&token=${token} HTTP/1.1\r\nHost: evil.example\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
    });
    for (const origin of origins) {
      cases.push({
        name: `GET the API from Origin ${origin}`,
        request: get(`/api/media/video?path=${q(clip)}&token=${token}`, { Origin: origin }),
      });
      cases.push({
        name: `WebSocket from Origin ${origin}`,
        request: upgrade(`/api/ws?token=${token}`, { Origin: origin }),
      });
    }
    cases.push({
      name: 'absolute-form request line naming another host',
      request: get(`http://evil.example/index.html`),
    });
    cases.push({
      name: 'absolute-form request line for the API',
      request: get(`http://evil.example/api/media/video?path=${q(clip)}&token=${token}`),
    });
    expect(await attack(cases)).toEqual([]);
  });

  it('keeps media inside the allowed folder: .., links, encodings, NUL, devices, pipes and folders', async () => {
    const up = path.relative(root, outside);
    const paths: [string, string][] = [
      ['a file outside', path.join(outside, 'secret.mp4')],
      ['..', `${root}/${up}/secret.mp4`],
      ['.. after a real file', `${clip}/../${up}/secret.mp4`],
      ['a sibling folder sharing the root’s name', path.join(`${root}-evil`, 'secret.mp4')],
      ['a link to a file outside', path.join(root, 'link-out.mp4')],
      ['a link to a folder outside', path.join(root, 'linkdir', 'secret.mp4')],
      ['a relative path', 'clip.mp4'],
      ['a home-relative path', '~/secret.mp4'],
      ['backslashes', `${root}\\..\\${up}\\secret.mp4`],
      ['NUL after a real file', `${clip}\0/../../${up}/secret.mp4`],
      ['NUL in the name', `${root}/clip\0.mp4`],
      ['literally encoded dots (double encoding)', `${root}/%2e%2e/${up}/secret.mp4`],
      ['overlong UTF-8 dots', `${root}/\u00c0\u00ae\u00c0\u00ae/${up}/secret.mp4`],
      ['full-width dots', `${root}/\uff0e\uff0e/${up}/secret.mp4`],
      ['/proc', '/proc/self/environ'],
      ['a device', '/dev/zero'],
      ['/etc', '/etc/passwd'],
      ['a named pipe inside the root', path.join(root, 'pipe.mp4')],
      ['a folder inside the root', path.join(root, 'sub')],
      ['the root itself', root],
      ['an empty path', ''],
    ];
    const cases: Case[] = [];
    for (const [what, file] of paths) {
      cases.push({
        name: `video: ${what}`,
        request: get(`/api/media/video?path=${q(file)}&token=${token}`),
      });
      cases.push({
        name: `thumbnail: ${what}`,
        request: get(`/api/media/thumbnail?path=${q(file)}&t=0&h=90&token=${token}`),
      });
    }
    // The query decoded once more than a browser would, and raw bytes a browser never sends.
    cases.push({
      name: 'video: path with %2e%2e encoded once more',
      request: get(
        `/api/media/video?path=${q(`${root}/`)}%252e%252e%252f${q(`${up}/secret.mp4`)}&token=${token}`,
      ),
    });
    cases.push({
      name: 'video: raw .. in the query',
      request: get(`/api/media/video?path=${root}/../${up}/secret.mp4&token=${token}`),
    });
    cases.push({
      name: 'video: %00 in the query',
      request: get(`/api/media/video?path=${q(clip)}%00${q(`/../../${up}/secret.mp4`)}&token=${token}`),
    });
    cases.push({
      name: 'video: two path parameters, the outside one second',
      request: get(
        `/api/media/video?path=${q(clip)}&path=${q(path.join(outside, 'secret.mp4'))}&token=${token}`,
      ),
    });
    expect(await attack(cases)).toEqual([]);
  });

  it('serves only the page’s own files: no way out of the renderer folder', async () => {
    const beside = 'beside-renderer.txt';
    const targets = [
      `/../${beside}`,
      `/../../${beside}`,
      `/%2e%2e/${beside}`,
      `/%2E%2E/${beside}`,
      `/%252e%252e/${beside}`,
      `/..%2f${beside}`,
      `/..%5c${beside}`,
      `/.%2e/${beside}`,
      `/%c0%ae%c0%ae/${beside}`,
      `//${path.join(work, beside)}`,
      `/${path.join(work, beside)}`,
      `/%2F${q(path.join(work, beside))}`,
      `/index.html%00/../../${beside}`,
      `/%00`,
      `/index.html/..%2f..%2f${beside}`,
      '/etc/passwd',
      `/api/../../${beside}`,
    ];
    const cases = targets.map((target) => ({ name: `GET ${target}`, request: get(target) }));
    cases.push({ name: 'POST to the page', request: get('/').replace(/^GET/, 'POST') });
    expect(await attack(cases)).toEqual([]);
  });

  it('refuses paths outside the folder over the socket too, and keeps serving', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/ws?token=${token}`, {
      headers: { Origin: `http://127.0.0.1:${port}` },
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    let id = 0;
    const ask = (method: string, params: unknown): Promise<ResponseMessage> => {
      const mine = ++id;
      ws.send(JSON.stringify({ kind: 'request', id: mine, method, params }));
      return new Promise((resolve) => {
        const listener = (data: Buffer): void => {
          const message = JSON.parse(data.toString()) as ResponseMessage;
          if (message.kind === 'response' && message.id === mine) {
            ws.off('message', listener);
            resolve(message);
          }
        };
        ws.on('message', listener);
      });
    };
    const requests: [string, unknown, string][] = [
      ['files.list', { dir: outside }, 'NOT_ALLOWED'],
      ['files.list', { dir: `${root}/..` }, 'NOT_ALLOWED'],
      ['files.list', { dir: path.join(root, 'linkdir') }, 'NOT_ALLOWED'],
      ['files.list', { dir: '/' }, 'NOT_ALLOWED'],
      ['video.probe', { path: path.join(root, 'link-out.mp4') }, 'NOT_ALLOWED'],
      ['video.probe', { path: `${root}/../${path.basename(outside)}/secret.mp4` }, 'NOT_ALLOWED'],
      // ffprobe would wait on a pipe for a writer that never comes.
      ['video.probe', { path: path.join(root, 'pipe.mp4') }, 'BAD_REQUEST'],
      ['model.inspect', { dir: outside }, 'NOT_ALLOWED'],
      ['model.choose', { dir: '/etc' }, 'NOT_ALLOWED'],
    ];
    for (const [method, params, code] of requests) {
      tally.tried += 1;
      const answer = await ask(method, params);
      const text = JSON.stringify(answer);
      if (!answer.ok && answer.error.code === code && !text.includes(secret)) tally.refused += 1;
      else tally.lost.push(`${method} ${JSON.stringify(params)}: ${text.slice(0, 200)}`);
      expect(answer.ok ? 'answered' : answer.error.code, `${method} ${JSON.stringify(params)}`).toBe(code);
    }
    const listing = await ask('files.list', { dir: root });
    expect(listing.ok).toBe(true);
    ws.close();
    // After everything above, the host still answers.
    expect((await raw(get(`/api/media/video?path=${q(clip)}&token=${token}`))).status).toBe(200);
  });
});
