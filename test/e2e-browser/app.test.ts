import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveChildPids } from '../../main/services/video/child-processes.js';
import {
  resolvedTools,
  syntheticSpecs,
  syntheticVideo,
  type SyntheticKind,
} from '../support/synthetic-videos.js';
import {
  openAppInBrowser,
  placeFile,
  prepareBrowserRun,
  shot as shotOf,
  type AppInBrowser,
} from './support/app-in-browser.js';

// The whole app in Debian's Chromium against a real web host (the same composition as `mmi serve`) serving the
// built renderer (`npm run build`) and the real services over real ffmpeg. Screenshots of each step are kept
// under test-results/e2e-browser/.

const run = promisify(execFile);

/** The synthetic videos, under plain names, in the one folder the host allows. */
const files: Record<string, SyntheticKind> = {
  'clip.mp4': 'normal',
  'long.mp4': 'long',
  'random-bytes.mp4': 'randomBytes',
  'truncated.mp4': 'truncatedMp4',
  'reordered.mkv': 'reordered',
};

let root: string;
let app: AppInBrowser;
let page: Page;

const shot = (name: string): Promise<void> => shotOf(page, name);

beforeAll(async () => {
  await prepareBrowserRun();
  root = await mkdtemp(path.join(tmpdir(), 'mmi-e2e-root-'));
  for (const [name, kind] of Object.entries(files))
    await placeFile(await syntheticVideo(kind), path.join(root, name));
  // Files that are not videos, as a real folder has them.
  await writeFile(path.join(root, 'notes.txt'), 'notes\n');
  await writeFile(path.join(root, 'engine.pid'), '123\n');
  app = await openAppInBrowser({}, [root]);
  page = app.page;
});

afterAll(async () => {
  await app?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the app in a browser, served by the web host', () => {
  it('browses the allowed folder and opens a video: its metadata as the file was made', async () => {
    const browserList = page.getByRole('region', { name: 'File browser' });
    for (const name of Object.keys(files)) await browserList.getByRole('button', { name }).waitFor();
    // Videos first; the folder's other files wait behind a toggle.
    expect(await browserList.getByRole('button', { name: 'notes.txt' }).count()).toBe(0);
    await browserList.getByRole('button', { name: 'Show 2 other files (not videos)' }).click();
    await browserList.getByRole('button', { name: 'notes.txt' }).waitFor();
    const names = await browserList.locator('.entries li').allTextContents();
    expect(names.slice(-2).map((n) => n.split(' ')[0])).toEqual(['engine.pid', 'notes.txt']);
    await browserList.getByRole('button', { name: 'Hide the 2 other files' }).click();
    expect(await browserList.getByRole('button', { name: 'engine.pid' }).count()).toBe(0);
    await browserList.getByRole('button', { name: 'clip.mp4' }).click();
    const facts = 'facts' in syntheticSpecs.normal ? syntheticSpecs.normal.facts : null;
    if (!facts) throw new Error('the normal clip has no facts');
    await expect
      .poll(() => page.getByTestId('meta-resolution').textContent())
      .toBe(`${facts.width}×${facts.height}`);
    expect(await page.getByTestId('meta-duration').textContent()).toBe('0:04.0');
    expect(await page.getByTestId('meta-fps').textContent()).toBe('25 fps');
    expect(await page.getByTestId('meta-codec').textContent()).toBe(facts.codec);
  });

  it('shows a timeline of thumbnails, every one a decoded image', async () => {
    const images = page.getByRole('region', { name: 'Timeline' }).getByRole('img');
    await expect.poll(() => images.count()).toBe(12);
    await page.waitForFunction(() => {
      const imgs = Array.from(document.querySelectorAll<HTMLImageElement>('.timeline img'));
      return imgs.length === 12 && imgs.every((img) => img.complete && img.naturalWidth > 0);
    });
    const sizes = await images.evaluateAll((imgs) =>
      (imgs as HTMLImageElement[]).map((img) => [img.naturalWidth, img.naturalHeight]),
    );
    // 90 px high at the clip's 4:3.
    expect(sizes.every(([w, h]) => h === 90 && w === 120)).toBe(true);
    // All twelve in sight: inside the panel, none cut off, nothing scrolled away.
    const panel = page.getByRole('region', { name: 'Timeline' });
    const box = await panel.boundingBox();
    const boxes = await images.evaluateAll((imgs) =>
      imgs.map((img) => {
        const r = img.getBoundingClientRect();
        return { left: r.left, right: r.right, width: r.width };
      }),
    );
    expect(box).not.toBeNull();
    for (const b of boxes) {
      expect(b.width).toBeGreaterThan(60);
      expect(b.left).toBeGreaterThanOrEqual(box?.x ?? Infinity);
      expect(b.right).toBeLessThanOrEqual((box?.x ?? 0) + (box?.width ?? 0));
    }
    const list = panel.locator('.timeline');
    expect(await list.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    await shot('01-opened');
  });

  it('updates the token estimate as the sampling changes', async () => {
    // By hand, with Qwen2.5-VL's rules (qwen-vl-utils smart_nframes / smart_resize) for 100 frames at 25 fps,
    // 320×240: 2 fps → 8 frames; 1 fps → 4 frames. 320×240 is below min_pixels (128·28²), so it is scaled up to
    // 392×280 (10×14 tokens per frame pair). With max_pixels 64·28² it is scaled down to 252×168 (6×9).
    const estimate = page.getByTestId('token-estimate');
    await expect.poll(() => estimate.textContent()).toMatch(/^560 visual tokens: 8 frames at 392×280/);
    await page.getByLabel('Frames per second').fill('1');
    await expect.poll(() => estimate.textContent()).toMatch(/^280 visual tokens: 4 frames at 392×280/);
    await page.getByLabel('Max pixels per frame').selectOption({ value: String(64 * 28 * 28) });
    await expect.poll(() => estimate.textContent()).toMatch(/^108 visual tokens: 4 frames at 252×168/);
    await shot('02-sampling');
  });

  it('decodes the planned frames and reports what it delivered', async () => {
    await page.getByRole('button', { name: 'Decode', exact: true }).click();
    const result = page.getByTestId('decode-result');
    await result.waitFor();
    expect(await result.textContent()).toMatch(/^Decoded 4 frames at 252×168 \(496\.1 KiB\)/);
    await shot('03-decoded');
  });

  it('shows a long decode progressing and cancels it, leaving no ffmpeg behind', async () => {
    await page.getByLabel('Frames per second').fill('2');
    await page.getByLabel('Max pixels per frame').selectOption({ value: String(768 * 28 * 28) });
    await page
      .getByRole('region', { name: 'File browser' })
      .getByRole('button', { name: 'long.mp4' })
      .click();
    await expect.poll(() => page.getByTestId('meta-duration').textContent()).toBe('5:00.0');
    await page.getByRole('button', { name: 'Decode', exact: true }).click();
    const progress = page.getByRole('progressbar', { name: 'Decode progress' });
    await progress.waitFor();
    await page.waitForFunction(() => (document.querySelector('progress')?.value ?? 0) > 0);
    expect(await progress.getAttribute('max')).toBe('600');
    await shot('04-decoding');
    await page.getByRole('region', { name: 'Decode' }).getByRole('button', { name: 'Cancel' }).click();
    const cancelled = page.getByTestId('decode-cancelled');
    await cancelled.waitFor();
    const [, done, total] =
      /Cancelled after (\d+) of (\d+) frames/.exec((await cancelled.textContent()) ?? '') ?? [];
    expect(Number(total)).toBe(600);
    expect(Number(done)).toBeGreaterThan(0);
    expect(Number(done)).toBeLessThan(600);
    await expect.poll(() => liveChildPids()).toEqual([]);
    await shot('05-cancelled');
  });

  it('shows a corrupt file and a non-media file as readable errors with their codes', async () => {
    const list = page.getByRole('region', { name: 'File browser' });
    await list.getByRole('button', { name: 'truncated.mp4' }).click();
    const alert = page.getByRole('region', { name: 'Video metadata' }).getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('CORRUPT_MEDIA');
    await shot('06-corrupt');
    await list.getByRole('button', { name: 'random-bytes.mp4' }).click();
    await expect.poll(() => alert.textContent()).toContain('NOT_MEDIA');
    expect(await alert.textContent()).toContain('random-bytes.mp4');
    // A file that cannot be opened leaves the open video as it was: still decodable, still asked about.
    expect(await alert.textContent()).toContain('long.mp4 is still open.');
    expect(await page.getByTestId('meta-duration').textContent()).toBe('5:00.0');
    await expect(page.getByRole('button', { name: 'Decode', exact: true }).isEnabled()).resolves.toBe(true);
    await expect(page.locator('#question').isEnabled()).resolves.toBe(true);
  });

  it('reads a constant-rate video with B-frames as constant, and says how far apart its frames are sampled', async () => {
    await page.getByLabel('Frames per second').fill('2');
    await page
      .getByRole('region', { name: 'File browser' })
      .getByRole('button', { name: 'reordered.mkv' })
      .click();
    await expect.poll(() => page.getByTestId('meta-duration').textContent()).toBe('0:10.0');
    expect(await page.getByTestId('meta-fps').textContent()).toBe('30 fps');
    // 300 frames at 2 fps: 20 frames at linspace(0, 299, 20), steps of 15.74 frames rounded to 15 or 16.
    expect(await page.getByTestId('sample-spacing').textContent()).toBe(
      'One frame every 0.500–0.533 s (whole frames, spread evenly over the video)',
    );
    await shot('08-constant-rate');
  });

  it('refuses a path outside the allowed folders', async () => {
    await page.getByLabel('Path on the server').fill('/etc/hostname');
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    const alert = page.getByRole('region', { name: 'Video metadata' }).getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('NOT_ALLOWED');
  });

  it('answers a file dropped on the page with how to open it here', async () => {
    const dataTransfer = await page.evaluateHandle(() => {
      const transfer = new DataTransfer();
      transfer.items.add(new File(['x'], 'dropped.mp4', { type: 'video/mp4' }));
      return transfer;
    });
    await page.dispatchEvent('main', 'dragover', { dataTransfer });
    await page.dispatchEvent('main', 'drop', { dataTransfer });
    await page
      .getByText('dropped.mp4 was not opened: in a browser, open videos from the allowed folders')
      .waitFor();
  });

  it('shows the ffmpeg and ffprobe the services resolved, with their versions', async () => {
    await page.getByRole('button', { name: 'About' }).click();
    const { ffmpeg, ffprobe } = await resolvedTools();
    for (const [name, tool] of [
      ['ffmpeg', ffmpeg],
      ['ffprobe', ffprobe],
    ] as const) {
      // The tool's own words: "<name> version <version> Copyright …" on the first line of -version.
      const { stdout } = await run(tool.path, ['-version']);
      const version = (stdout.split('\n')[0] ?? '').split(' ').slice(0, 3).join(' ');
      expect(version).toMatch(new RegExp(`^${name} version \\S+$`));
      await expect.poll(() => page.getByTestId(`diagnostics-${name}`).textContent()).toContain(tool.path);
      expect(await page.getByTestId(`diagnostics-${name}`).textContent()).toContain(version);
    }
    await shot('07-about');
  });

  it('gives a page opened without the token no access', async () => {
    const stranger = await app.browser.context.newPage();
    const refused = stranger
      .waitForEvent('websocket')
      .then((ws) => new Promise<boolean>((resolve) => ws.on('close', () => resolve(true))));
    await stranger.goto(app.host.origin);
    expect(await refused).toBe(true);
    await stranger.getByText('Connection to the web host lost').waitFor();
    const status = await stranger.evaluate(
      async () => (await fetch('/api/media/video?path=%2Fetc%2Fhostname')).status,
    );
    expect(status).toBe(401);
    await stranger.close();
  });
});
