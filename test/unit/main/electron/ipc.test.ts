import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ipcChannels } from '../../../../app/contract/host.js';
import type { EventMessage, RequestMessage } from '../../../../app/contract/protocol.js';
import type { Caller, HostBackend } from '../../../../main/web/backend.js';

// The IPC adapter against a stand-in for Electron's main-process modules (the real package only holds types
// here): which channels it serves, whom it answers, what it lets through to the backend.

type Handler = (event: unknown, ...args: unknown[]) => Promise<unknown>;
const handlers = new Map<string, Handler>();
const dialogAnswer: { canceled: boolean; filePaths: string[] } = { canceled: true, filePaths: [] };

vi.mock('electron', () => ({
  ipcMain: { handle: (channel: string, handler: Handler) => handlers.set(channel, handler) },
  BrowserWindow: {
    fromWebContents: (contents: { appWindow: boolean }) => (contents.appWindow ? { contents } : null),
    getAllWindows: () => [],
  },
  dialog: { showOpenDialog: async () => dialogAnswer },
}));

const { serveIpc } = await import('../../../../main/electron/ipc.js');

/** A web contents as the adapter sees it: where it is, and what it was sent. */
function sender(options: { url?: string | null; topFrame?: boolean; appWindow?: boolean } = {}) {
  const sent: unknown[] = [];
  const destroyed: (() => void)[] = [];
  const mainFrame = {
    url: options.url === undefined ? 'app://bundle/index.html' : options.url,
    parent: null,
  };
  const frame =
    options.url === null
      ? null
      : options.topFrame === false
        ? { ...mainFrame, parent: mainFrame }
        : mainFrame;
  const contents = {
    appWindow: options.appWindow ?? true,
    isDestroyed: () => false,
    send: (channel: string, message: unknown) => sent.push([channel, message]),
    once: (name: string, listener: () => void) => name === 'destroyed' && destroyed.push(listener),
  };
  return {
    event: { sender: contents, senderFrame: frame },
    sent,
    destroy: () => destroyed.forEach((f) => f()),
  };
}

const requests: RequestMessage[] = [];
const callers: Caller[] = [];
const allowed: string[] = [];
let dir: string;
let videoFile: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mmi-ipc-test-'));
  videoFile = path.join(dir, 'v.mp4');
  await writeFile(videoFile, 'x');
  const backend: HostBackend = {
    async respond(request, caller) {
      requests.push(request);
      callers.push(caller);
      return { kind: 'response', id: request.id, ok: true, result: {} };
    },
    http: async () => new Response(null, { status: 404 }),
  };
  serveIpc({
    backend,
    allowFile: async (file) => (allowed.push(file), file),
    allowFolder: async (folder) => (allowed.push(folder), folder),
  });
});
afterAll(() => rm(dir, { recursive: true, force: true }));
beforeEach(() => {
  requests.length = 0;
  callers.length = 0;
  allowed.length = 0;
});

const call = (channel: string, event: unknown, ...args: unknown[]) => {
  const handler = handlers.get(channel);
  if (!handler) throw new Error(`nothing serves ${channel}`);
  return handler(event, ...args);
};
const probe = { kind: 'request', id: 3, method: 'video.probe', params: { path: '/v.mp4' } };

describe('Electron IPC adapter', () => {
  it('serves exactly the preload channels', () => {
    expect([...handlers.keys()].sort()).toEqual(
      [
        ipcChannels.request,
        ipcChannels.chooseVideo,
        ipcChannels.allowDropped,
        ipcChannels.chooseModelFolder,
      ].sort(),
    );
  });

  it('passes a valid request from the app page to the backend and returns its response', async () => {
    const { event } = sender();
    expect(await call(ipcChannels.request, event, probe)).toEqual({
      kind: 'response',
      id: 3,
      ok: true,
      result: {},
    });
    expect(requests).toEqual([probe]);
  });

  it('refuses senders that are not the top frame of an app window on app://bundle', async () => {
    for (const who of [
      sender({ url: 'https://evil.example/' }),
      sender({ topFrame: false }),
      sender({ appWindow: false }),
      sender({ url: null }),
    ]) {
      expect(await call(ipcChannels.request, who.event, probe)).toMatchObject({
        ok: false,
        error: { code: 'NOT_ALLOWED' },
      });
      expect(await call(ipcChannels.allowDropped, who.event, videoFile)).toBeNull();
      expect(await call(ipcChannels.chooseVideo, who.event)).toBeNull();
      expect(await call(ipcChannels.chooseModelFolder, who.event)).toBeNull();
    }
    expect(requests).toEqual([]);
    expect(allowed).toEqual([]);
  });

  it('answers a malformed request with BAD_REQUEST without reaching the backend', async () => {
    const { event } = sender();
    for (const bad of [
      null,
      'video.probe',
      { kind: 'request', id: -1, method: 'x' },
      { ...probe, kind: 'event' },
    ]) {
      expect(await call(ipcChannels.request, event, bad)).toMatchObject({
        ok: false,
        error: { code: 'BAD_REQUEST' },
      });
    }
    expect(requests).toEqual([]);
  });

  it("sends a caller's events to that window, and aborts its jobs when the window is destroyed", async () => {
    const window = sender();
    await call(ipcChannels.request, window.event, probe);
    await call(ipcChannels.request, window.event, { ...probe, id: 4 });
    const [first, second] = callers;
    expect(first).toBe(second);
    const message: EventMessage = {
      kind: 'event',
      event: 'job.progress',
      payload: { jobId: 'j', done: 1, total: 2 },
    };
    first?.emit(message);
    expect(window.sent).toEqual([[ipcChannels.event, message]]);
    expect(first?.signal.aborted).toBe(false);
    window.destroy();
    expect(first?.signal.aborted).toBe(true);
  });

  it('allows a dropped path only when it is an absolute path to an existing file', async () => {
    const { event } = sender();
    expect(await call(ipcChannels.allowDropped, event, 'relative/v.mp4')).toBeNull();
    expect(await call(ipcChannels.allowDropped, event, dir)).toBeNull();
    expect(await call(ipcChannels.allowDropped, event, path.join(dir, 'missing.mp4'))).toBeNull();
    expect(await call(ipcChannels.allowDropped, event, 42)).toBeNull();
    expect(allowed).toEqual([]);
    expect(await call(ipcChannels.allowDropped, event, videoFile)).toBe(videoFile);
    expect(allowed).toEqual([videoFile]);
  });

  it('allows the file chosen in the native dialog, and nothing when the dialog is cancelled', async () => {
    const { event } = sender();
    expect(await call(ipcChannels.chooseVideo, event)).toBeNull();
    Object.assign(dialogAnswer, { canceled: false, filePaths: [videoFile] });
    expect(await call(ipcChannels.chooseVideo, event)).toBe(videoFile);
    expect(allowed).toEqual([videoFile]);
  });

  it('allows the model folder chosen in the folder dialog, and nothing when the dialog is cancelled', async () => {
    const { event } = sender();
    Object.assign(dialogAnswer, { canceled: true, filePaths: [] });
    expect(await call(ipcChannels.chooseModelFolder, event)).toBeNull();
    Object.assign(dialogAnswer, { canceled: false, filePaths: [dir] });
    expect(await call(ipcChannels.chooseModelFolder, event)).toBe(dir);
    expect(allowed).toEqual([dir]);
  });
});
