import { access, copyFile, link, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { createServices, rootsPolicy, type Services } from '../../../main/dispatch/index.js';
import type { ServicesOptions } from '../../../main/services/services.js';
import { createHostBackend } from '../../../main/web/backend.js';
import { startWebHost, type WebHost } from '../../../main/web/host.js';
import { launchChromium } from './chromium.js';

// What every browser suite starts from: the built renderer (`npm run build`), a web host composed as `mmi serve`
// composes it over real services, and a page of Debian's Chromium on it. Screenshots go to test-results/e2e-browser/.

export const repoRoot = path.resolve(import.meta.dirname, '../../..');
const shots = path.join(repoRoot, 'test-results', 'e2e-browser');

/** Fails at once when the renderer is not built; makes the screenshot folder. */
export async function prepareBrowserRun(): Promise<void> {
  await access(path.join(repoRoot, 'dist', 'renderer', 'index.html')).catch(() => {
    throw new Error('dist/renderer is missing: run `npm run build` before the browser end-to-end tests');
  });
  await mkdir(shots, { recursive: true });
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
}

/** Puts `source` at `target`: a hard link keeps the real path inside an allowed folder (the policy resolves links);
 * a copy across file systems. */
export async function placeFile(source: string, target: string): Promise<void> {
  await link(source, target).catch(() => copyFile(source, target));
}

export interface AppInBrowser {
  services: Services;
  host: WebHost;
  browser: { context: BrowserContext; close(): Promise<void> };
  page: Page;
  /** Uncaught errors in the page, in order. */
  pageErrors: string[];
  /** Closes the browser, the host and the services. */
  close(): Promise<void>;
}

/** The app served by a web host that allows `roots`, opened in a fresh page. */
export async function openAppInBrowser(options: ServicesOptions, roots: string[]): Promise<AppInBrowser> {
  const services = createServices(options);
  let host: WebHost | undefined;
  let browser: AppInBrowser['browser'] | undefined;
  const close = async (): Promise<void> => {
    await browser?.close();
    await host?.close();
    await services.close();
  };
  try {
    host = await startWebHost({ backend: createHostBackend(services, await rootsPolicy(roots)) });
    browser = await launchChromium();
    const page = await browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(host.url);
    return { services, host, browser, page, pageErrors, close };
  } catch (err) {
    await close();
    throw err;
  }
}
