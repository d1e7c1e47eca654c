import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// Electron's entry as an installed app starts it: app.isPackaged, and app.getAppPath() is resources/app.asar. A
// folder of that name stands in for the archive (Electron's fs reads both alike), holding a page and a preload
// of its own, so what the window and app:// serve can only have come from the installed layout.

const recorded = vi.hoisted(() => ({
  appPath: '',
  protocols: new Map<string, (request: Request) => Promise<Response>>(),
  windows: [] as { options: { webPreferences: Record<string, unknown> } }[],
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
    loadURL() {
      return Promise.resolve();
    }
  }
  return {
    app: {
      getAppPath: () => recorded.appPath,
      isPackaged: true,
      enableSandbox: () => undefined,
      requestSingleInstanceLock: () => true,
      on: () => undefined,
      whenReady: () => Promise.resolve(),
      quit: () => undefined,
      removeAllListeners: () => undefined,
    },
    protocol: {
      registerSchemesAsPrivileged: () => undefined,
      handle: (scheme: string, handler: (request: Request) => Promise<Response>) =>
        recorded.protocols.set(scheme, handler),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: () => undefined,
        setPermissionCheckHandler: () => undefined,
      },
    },
    ipcMain: { handle: () => undefined },
    dialog: {},
    BrowserWindow,
    utilityProcess: { fork: () => ({}) },
  };
});

let resources: string;

beforeAll(async () => {
  resources = path.join(await mkdtemp(path.join(tmpdir(), 'mmi-installed-')), 'resources');
  recorded.appPath = path.join(resources, 'app.asar');
  await mkdir(path.join(recorded.appPath, 'dist', 'renderer'), { recursive: true });
  await mkdir(path.join(recorded.appPath, 'dist', 'preload'), { recursive: true });
  await writeFile(path.join(recorded.appPath, 'dist', 'renderer', 'index.html'), '<p>installed page</p>');
  await writeFile(path.join(recorded.appPath, 'dist', 'preload', 'preload.cjs'), '');
  await import('../../../../main/electron/main.js');
  await vi.waitFor(() => expect(recorded.windows).toHaveLength(1));
});

afterAll(async () => {
  if (resources) await rm(path.dirname(resources), { recursive: true, force: true });
});

describe('Electron main, installed', () => {
  it('loads the preload from inside the archive', () => {
    expect(recorded.windows[0]?.options.webPreferences['preload']).toBe(
      path.join(resources, 'app.asar', 'dist', 'preload', 'preload.cjs'),
    );
  });

  it('serves the archive’s page on app://bundle, not the package folder’s', async () => {
    const handle = recorded.protocols.get('app');
    if (!handle) throw new Error('app:// is not handled');
    const page = await handle(new Request('app://bundle/index.html'));
    expect(page.status).toBe(200);
    expect(await page.text()).toBe('<p>installed page</p>');
  });
});
