import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  contentSecurityPolicy,
  createRendererFiles,
  resolveInside,
} from '../../../../main/web/renderer-files.js';

let parent: string;
let root: string;

beforeAll(async () => {
  parent = await mkdtemp(path.join(tmpdir(), 'mmi-renderer-files-'));
  root = path.join(parent, 'renderer');
  await mkdir(path.join(root, 'assets'), { recursive: true });
  await writeFile(path.join(root, 'index.html'), '<!doctype html><title>page</title>');
  await writeFile(path.join(root, 'assets', 'app.js'), 'console.log(1)');
  await writeFile(path.join(parent, 'secret.txt'), 'outside');
});
afterAll(() => rm(parent, { recursive: true, force: true }));

describe('renderer files', () => {
  it('maps URL paths inside the folder and refuses any that leave it', () => {
    expect(resolveInside('/r', '/')).toBe('/r/index.html');
    expect(resolveInside('/r', '/assets/a.js')).toBe('/r/assets/a.js');
    for (const bad of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/a%00.js',
      '/%E0%A4%A',
      '/..\\x',
    ]) {
      expect(resolveInside('/r', bad), bad).toBeNull();
    }
  });

  it('serves the page with the CSP and assets with their type, and nothing outside the folder', async () => {
    const csp = contentSecurityPolicy(['ws://127.0.0.1:1']);
    const files = createRendererFiles(root, () => csp);
    const page = await files(new Request('http://127.0.0.1:1/'));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(csp);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('<title>page</title>');

    const script = await files(new Request('http://127.0.0.1:1/assets/app.js'));
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');

    // The URL parser already folds plain `..`; the encoded forms reach the handler and must be refused there.
    expect((await files(new Request('http://127.0.0.1:1/%2e%2e/secret.txt'))).status).toBe(404);
    expect((await files(new Request('http://127.0.0.1:1/assets'))).status).toBe(404);
    expect((await files(new Request('http://127.0.0.1:1/missing.js'))).status).toBe(404);
    expect((await files(new Request('http://127.0.0.1:1/', { method: 'POST' }))).status).toBe(405);
  });

  it('allows scripts from the page origin only: no inline code, no eval, no remote hosts', () => {
    const csp = contentSecurityPolicy(['ws://127.0.0.1:5']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(csp).toContain("connect-src 'self' ws://127.0.0.1:5");
    expect(csp).toContain("default-src 'none'");
  });
});
