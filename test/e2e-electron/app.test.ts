import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../main/electron/binary.js';

// Launches the built app in a real Electron binary. Without one (the electron npm package holds only types on
// machines that cannot download it) every test here reports itself skipped with the reason; REQUIRE_ELECTRON_E2E=1
// turns that into a failure, for machines that are meant to have the binary.

const repoRoot = path.resolve(import.meta.dirname, '../..');
const artifacts = path.join(repoRoot, 'test-results', 'e2e-electron');
const lookup = findElectronBinary();
const hasDisplay = Boolean(process.env['DISPLAY'] ?? process.env['WAYLAND_DISPLAY']);
const skipReason = !lookup.found
  ? `Electron binary not available: ${lookup.reason}`
  : !hasDisplay
    ? 'no display for Electron (run under xvfb-run)'
    : null;

if (skipReason !== null && process.env['REQUIRE_ELECTRON_E2E'] === '1') {
  throw new Error(`REQUIRE_ELECTRON_E2E=1 but ${skipReason}`);
}
if (skipReason !== null) console.warn(`e2e-electron SKIPPED: ${skipReason}`);

describe('Electron app', () => {
  let app: ElectronApplication | undefined;
  let page: Page;
  let userData: string;

  beforeAll(async () => {
    if (!lookup.found || skipReason !== null) return;
    userData = await mkdtemp(path.join(tmpdir(), 'mmi-electron-user-'));
    await mkdir(artifacts, { recursive: true });
    app = await _electron.launch({
      executablePath: lookup.path,
      // Chromium refuses to run as root with its sandbox on; CI containers run as root.
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), repoRoot, `--user-data-dir=${userData}`],
      env: { ...process.env, ELECTRON_ENABLE_LOGGING: '1' },
      timeout: 60_000,
    });
    page = await app.firstWindow();
    await page.waitForLoadState('load');
  });

  afterAll(async () => {
    if (app) {
      await page.screenshot({ path: path.join(artifacts, 'window.png') }).catch(() => undefined);
      await app.close();
    }
    if (userData) await rm(userData, { recursive: true, force: true });
  });

  it('opens the app page from app:// with the renderer shell', async (ctx) => {
    if (skipReason !== null) ctx.skip(skipReason);
    expect(page.url()).toBe('app://bundle/index.html');
    await expect.poll(() => page.title()).toBe('MMI Studio');
    await page.getByRole('button', { name: 'Open video…' }).waitFor();
  });

  it('gives the page the narrow preload API and no Node', async (ctx) => {
    if (skipReason !== null) ctx.skip(skipReason);
    const globals = await page.evaluate(() => ({
      mmi: Object.keys((window as unknown as { mmi: object }).mmi).sort(),
      require: typeof (window as unknown as { require?: unknown }).require,
      process: typeof (window as unknown as { process?: unknown }).process,
    }));
    expect(globals).toEqual({
      mmi: ['allowDroppedFile', 'chooseVideo', 'host', 'onEvent', 'request'],
      require: 'undefined',
      process: 'undefined',
    });
  });

  it('refuses files the user did not choose', async (ctx) => {
    if (skipReason !== null) ctx.skip(skipReason);
    const response = await page.evaluate(() =>
      (window as unknown as { mmi: { request(m: unknown): Promise<unknown> } }).mmi.request({
        kind: 'request',
        id: 1,
        method: 'video.probe',
        params: { path: '/etc/hostname' },
      }),
    );
    expect(response).toMatchObject({ kind: 'response', id: 1, ok: false, error: { code: 'NOT_ALLOWED' } });
  });

  it('blocks navigation away from the app and new windows', async (ctx) => {
    if (skipReason !== null) ctx.skip(skipReason);
    const opened = await page.evaluate(() => window.open('https://example.com/') === null);
    expect(opened).toBe(true);
    await page.evaluate(() => {
      window.location.href = 'https://example.com/';
    });
    // The page is still the app's and still answers: the navigation was refused, not merely slow.
    expect(await page.evaluate(() => window.location.href)).toBe('app://bundle/index.html');
    expect(app?.windows()).toHaveLength(1);
  });
});
