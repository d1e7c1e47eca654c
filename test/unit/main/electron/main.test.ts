import { access } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';

// Electron's entry against a stand-in for Electron (the real package only holds types here): what it registers
// before and after `ready`, the window's settings, and what the app:// protocol answers. Needs `npm run build`
// (the protocol serves dist/renderer).

const repoRoot = path.resolve(import.meta.dirname, '../../../..');

const recorded = vi.hoisted(() => ({
  schemes: [] as unknown[],
  sandboxEnabled: false,
  protocols: new Map<string, (request: Request) => Promise<Response>>(),
  windows: [] as { options: { webPreferences: Record<string, unknown> }; url?: string }[],
  appListeners: new Map<string, (...args: unknown[]) => void>(),
  ipcChannels: [] as string[],
  permissionRequest: undefined as undefined | ((...args: unknown[]) => void),
  permissionCheck: undefined as undefined | ((...args: unknown[]) => boolean),
}));

vi.mock('electron', () => {
  class BrowserWindow {
    static getAllWindows = () => [];
    static fromWebContents = () => null;
    webContents = {};
    constructor(readonly options: { webPreferences: Record<string, unknown> }) {
      recorded.windows.push(this);
    }
    once() {}
    loadURL(url: string) {
      (this as { url?: string }).url = url;
      return Promise.resolve();
    }
  }
  return {
    app: {
      // `electron .` from the package folder: not packaged, the app folder is the package's.
      getAppPath: () => path.resolve(import.meta.dirname, '../../../..'),
      isPackaged: false,
      enableSandbox: () => (recorded.sandboxEnabled = true),
      requestSingleInstanceLock: () => true,
      on: (name: string, listener: (...args: unknown[]) => void) => recorded.appListeners.set(name, listener),
      whenReady: () => Promise.resolve(),
      quit: () => undefined,
      removeAllListeners: () => undefined,
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => recorded.schemes.push(...schemes),
      handle: (scheme: string, handler: (request: Request) => Promise<Response>) =>
        recorded.protocols.set(scheme, handler),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (h: (...args: unknown[]) => void) => (recorded.permissionRequest = h),
        setPermissionCheckHandler: (h: (...args: unknown[]) => boolean) => (recorded.permissionCheck = h),
      },
    },
    ipcMain: { handle: (channel: string) => recorded.ipcChannels.push(channel) },
    dialog: {},
    BrowserWindow,
  };
});

beforeAll(async () => {
  await access(path.join(repoRoot, 'dist', 'renderer', 'index.html')).catch(() => {
    throw new Error('dist/renderer is missing: run `npm run build` first');
  });
  await import('../../../../main/electron/main.js');
  await vi.waitFor(() => expect(recorded.windows).toHaveLength(1));
});

describe('Electron main', () => {
  it('registers app:// as a secure standard scheme that can stream media, and turns the sandbox on for all', () => {
    expect(recorded.schemes).toEqual([
      {
        scheme: 'app',
        privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true, codeCache: true },
      },
    ]);
    expect(recorded.sandboxEnabled).toBe(true);
  });

  it('opens one window, isolated and sandboxed without Node, on the app page, with the built preload', async () => {
    const [win] = recorded.windows;
    expect(win?.url).toBe('app://bundle/index.html');
    expect(win?.options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      webviewTag: false,
    });
    const preload = String(win?.options.webPreferences['preload']);
    expect(preload).toBe(path.join(repoRoot, 'dist', 'preload', 'preload.cjs'));
    await access(preload);
    expect(recorded.ipcChannels.sort()).toEqual([
      'mmi:allow-dropped',
      'mmi:choose-model-folder',
      'mmi:choose-video',
      'mmi:request',
    ]);
  });

  it('denies new windows, navigation, webviews and every permission', () => {
    const created = recorded.appListeners.get('web-contents-created');
    const contents = {
      openHandler: undefined as undefined | (() => unknown),
      events: new Map<string, (event: { preventDefault(): void }) => void>(),
      setWindowOpenHandler(h: () => unknown) {
        this.openHandler = h;
      },
      on(name: string, h: (event: { preventDefault(): void }) => void) {
        this.events.set(name, h);
      },
    };
    created?.({}, contents);
    expect(contents.openHandler?.()).toEqual({ action: 'deny' });
    for (const name of ['will-navigate', 'will-frame-navigate', 'will-redirect', 'will-attach-webview']) {
      const prevent = vi.fn();
      contents.events.get(name)?.({ preventDefault: prevent });
      expect(prevent, name).toHaveBeenCalled();
    }
    const answer = vi.fn();
    recorded.permissionRequest?.({}, 'media', answer);
    expect(answer).toHaveBeenCalledWith(false);
    expect(recorded.permissionCheck?.({}, 'notifications')).toBe(false);
  });

  it('serves the page with a strict CSP on app://bundle, and media only for files the user chose', async () => {
    const handle = recorded.protocols.get('app');
    if (!handle) throw new Error('app:// is not handled');
    const page = await handle(new Request('app://bundle/index.html'));
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/default-src 'none'; script-src 'self'/);
    // No inline or evaluated script, no plugins, no framing of the page, no form posting anywhere.
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    for (const rule of [
      "object-src 'none'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
    ]) {
      expect(csp).toContain(rule);
    }
    expect((await handle(new Request('app://elsewhere/index.html'))).status).toBe(404);
    const media = await handle(new Request('app://bundle/api/media/video?path=%2Fetc%2Fhostname'));
    expect(media.status).toBe(403);
    expect(await media.json()).toMatchObject({ code: 'NOT_ALLOWED' });
  });
});
