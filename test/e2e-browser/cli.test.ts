import { spawn, type ChildProcess } from 'node:child_process';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findElectronBinary } from '../../main/electron/binary.js';
import { launchChromium } from './support/chromium.js';

// `mmi serve` and `mmi start` as a user runs them (the built CLI, `npm run build`): what they print, the page at
// the printed URL, and a clean stop on Ctrl+C.

const repoRoot = path.resolve(import.meta.dirname, '../..');
const mmi = path.join(repoRoot, 'bin', 'mmi.js');
let root: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  await access(path.join(repoRoot, 'dist', 'main', 'cli', 'index.js')).catch(() => {
    throw new Error('dist/ is missing: run `npm run build` before the end-to-end tests');
  });
  root = await mkdtemp(path.join(tmpdir(), 'mmi-cli-e2e-'));
  await writeFile(path.join(root, 'holiday.mp4'), 'not really a video');
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  if (root) await rm(root, { recursive: true, force: true });
});

/** Starts `mmi <args>` and resolves once it has printed a URL, with everything printed so far. */
function startCli(args: string[]): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  // As typed in a shell in `root`: no INIT_CWD from an npm that may be running these tests.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'INIT_CWD'));
  const child = spawn(process.execPath, [mmi, ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(output)?.[0];
      if (url) resolve({ child, url, output: () => output });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`mmi ${args.join(' ')} exited (${code}) before serving:\n${output}`)),
    );
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
    child.kill('SIGINT');
  });
}

describe('mmi serve and mmi start', () => {
  it('mmi serve prints a tokened loopback URL whose page browses the current folder, and stops on Ctrl+C', async () => {
    const { child, url } = await startCli(['serve']);
    const origin = new URL(url).origin;
    expect(
      (await fetch(`${origin}/api/media/video?path=${encodeURIComponent(path.join(root, 'holiday.mp4'))}`))
        .status,
    ).toBe(401);
    const browser = await launchChromium();
    try {
      const page = await browser.context.newPage();
      await page.goto(url);
      await page
        .getByRole('region', { name: 'File browser' })
        .getByRole('button', { name: 'holiday.mp4' })
        .waitFor();
    } finally {
      await browser.close();
    }
    expect(await stop(child)).toBe(0);
  });

  it('mmi start without an Electron binary says so and serves the app instead', async (ctx) => {
    const lookup = findElectronBinary();
    if (lookup.found) ctx.skip('an Electron binary is installed here, so mmi start opens the desktop app');
    const { child, output } = await startCli(['start']);
    expect(output()).toContain('Electron is not available on this machine');
    expect(output()).toContain('mmi serve');
    expect(await stop(child)).toBe(0);
  });
});
