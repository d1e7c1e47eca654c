import { execFile } from 'node:child_process';
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticVideo } from '../support/synthetic-videos.js';
import {
  openAppInBrowser,
  placeFile,
  prepareBrowserRun,
  repoRoot,
  shot as shotOf,
  type AppInBrowser,
} from './support/app-in-browser.js';

// Asking questions in Debian's Chromium against a real web host and the real engine process (the embedded tiny
// model on the CPU): the answer streams in, heatmaps appear while the pre-fill runs and differ between heads, a
// question is cancelled, and a model folder is inspected and chosen. Screenshots go to test-results/e2e-browser/.

const run = promisify(execFile);
const tinyB = path.join(repoRoot, 'models', 'qwen2_5_vl', 'fixtures', 'tiny-b', 'model');

/** Frames sampled from the five-minute video: enough that a question takes a few seconds on the CPU. */
const longFrames = 200;

let root: string;
let app: AppInBrowser;
let page: Page;

const shot = (name: string): Promise<void> => shotOf(page, name);

/** What the page showed while a question ran, recorded by a MutationObserver in the page. */
interface Seen {
  answerLengths: number[];
  queuedLabel: string | null;
  stages: string[];
  heatmapWhileRunning: boolean;
  layersShown: string[];
}

/** Starts recording what turn `index` shows as it changes. */
async function watchTurn(index: number): Promise<void> {
  await page.evaluate((turn) => {
    const seen: Seen = {
      answerLengths: [],
      queuedLabel: null,
      stages: [],
      heatmapWhileRunning: false,
      layersShown: [],
    };
    (window as unknown as { seen: Seen }).seen = seen;
    const record = () => {
      const answer = document.querySelector(`[data-testid="answer-${turn}"]`)?.textContent ?? '';
      if (answer.length !== seen.answerLengths.at(-1)) seen.answerLengths.push(answer.length);
      const queued = document.querySelector('[data-stage="queued"] .stage-count')?.textContent?.trim();
      if (queued) seen.queuedLabel = queued;
      for (const el of Array.from(document.querySelectorAll('[data-stage]'))) {
        const stage = el.getAttribute('data-stage') ?? '';
        if (!seen.stages.includes(stage)) seen.stages.push(stage);
      }
      const status = document.querySelector(`[data-testid="turn-${turn}"]`)?.getAttribute('data-status');
      const map = document.querySelector('[data-testid="heatmap-original"]');
      if (status === 'running' && map) {
        seen.heatmapWhileRunning = true;
        const label = map.getAttribute('aria-label') ?? '';
        if (!seen.layersShown.includes(label)) seen.layersShown.push(label);
      }
    };
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
    });
  }, index);
}

async function seen(): Promise<Seen> {
  return page.evaluate(() => (window as unknown as { seen: Seen }).seen);
}

/** The pixels of a heatmap canvas: how many cells are painted, and a digest of all of them. */
async function canvasPixels(testId: string): Promise<{ painted: number; digest: string; width: number }> {
  return page.getByTestId(testId).evaluate((el) => {
    const canvas = el as HTMLCanvasElement;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2d context');
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let painted = 0;
    let hash = 0;
    for (let i = 0; i < data.length; i += 4) {
      if ((data[i + 3] ?? 0) > 0) painted++;
      for (let k = 0; k < 4; k++) hash = (Math.imul(hash, 31) + (data[i + k] ?? 0)) | 0;
    }
    return { painted, digest: `${painted}:${hash}`, width: canvas.width };
  });
}

function turnStatus(index: number) {
  return () => page.getByTestId(`turn-${index}`).getAttribute('data-status');
}

beforeAll(async () => {
  await prepareBrowserRun();
  root = await mkdtemp(path.join(tmpdir(), 'mmi-e2e-ask-'));
  for (const [name, kind] of [
    ['clip.mp4', 'normal'],
    ['long.mp4', 'long'],
    ['random-bytes.mp4', 'randomBytes'],
  ] as const) {
    await placeFile(await syntheticVideo(kind), path.join(root, name));
  }
  // A second real model (2 layers × 3 heads, sharded weights) and a folder that only pretends to be one.
  await cp(tinyB, path.join(root, 'models', 'tiny-b'), { recursive: true });
  await mkdir(path.join(root, 'models', 'broken'), { recursive: true });
  await copyFile(path.join(tinyB, 'config.json'), path.join(root, 'models', 'broken', 'config.json'));
  await writeFile(path.join(root, 'models', 'broken', 'model.safetensors'), Buffer.alloc(16));
  app = await openAppInBrowser({}, [root]);
  page = app.page;
});

afterAll(async () => {
  await app?.close();
  if (root) await rm(root, { recursive: true, force: true });
  // Uncaught errors in the page: any of them fails the run.
  expect(app?.pageErrors ?? []).toEqual([]);
});

describe('asking about a video in a browser, answered by the engine', () => {
  it('says, before anything is asked, what the bundled demo model is, and where it runs', async () => {
    await page.getByTestId('embedded-model-notice').waitFor();
    expect(await page.getByTestId('embedded-model-notice').textContent()).toContain(
      'Bundled demo model: trained only on synthetic videos.',
    );
    expect(await page.locator('.model-badge').textContent()).toBe(
      'Bundled demo model — synthetic videos only',
    );
    // Its folder as the engine read it: the demo model's own config.json says 4 layers × 4 heads.
    const config = JSON.parse(
      await readFile(path.join(repoRoot, 'models', 'qwen2_5_vl', 'demo', 'model', 'config.json'), 'utf8'),
    ) as { num_hidden_layers: number; num_attention_heads: number };
    expect(await page.getByTestId('current-model').textContent()).toContain(
      `${config.num_hidden_layers} layers`,
    );
    await expect.poll(() => page.getByTestId('engine-device').textContent(), { timeout: 15_000 }).toBe('CPU');
    // The backend line is read whole, not cut off.
    const backend = page.getByTestId('engine-backend');
    expect(await backend.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    expect(await backend.textContent()).toMatch(/^CPU, \d+ hardware threads?; .*models run on the CPU\)?$/);
    // No video open: questions would go to the bundled demo clip, and the box says so.
    await page.getByTestId('demo-video-note').waitFor();
    // A file that fails to open changes none of that.
    await page
      .getByRole('region', { name: 'File browser' })
      .getByRole('button', { name: 'random-bytes.mp4' })
      .click();
    const alert = page.getByRole('region', { name: 'Video metadata' }).getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('NOT_MEDIA');
    expect(await alert.textContent()).toContain('No video is open.');
    await page.getByTestId('demo-video-note').waitFor();
    await expect(page.locator('#question').isEnabled()).resolves.toBe(true);
  });

  it('asks about a video: progress by stage, the answer streams in, heatmaps appear during the pre-fill', async () => {
    await page
      .getByRole('region', { name: 'File browser' })
      .getByRole('button', { name: 'long.mp4' })
      .click();
    await expect.poll(() => page.getByTestId('meta-duration').textContent()).toBe('5:00.0');
    await page.getByLabel('Max frames').fill(String(longFrames));
    await expect
      .poll(() => page.getByTestId('token-estimate').textContent())
      .toMatch(/^14,000 visual tokens/);

    await watchTurn(0);
    await page.locator('#question').fill('Describe the scene.');
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    await page.getByRole('list', { name: 'Progress by stage' }).waitFor();
    await shot('10-asking');
    await expect.poll(turnStatus(0), { timeout: 120_000 }).toBe('done');
    const answer = (await page.getByTestId('answer-0').textContent()) ?? '';
    const what = await seen();

    // Each stage the engine went through was shown, in order.
    expect(what.stages.filter((s) => ['video', 'vision', 'prefill', 'decode'].includes(s))).toEqual([
      'video',
      'vision',
      'prefill',
      'decode',
    ]);
    // The answer grew in steps before it was complete.
    const partial = what.answerLengths.filter((n) => n > 0 && n < answer.length);
    expect(partial.length).toBeGreaterThanOrEqual(2);
    expect(what.answerLengths.at(-1)).toBe(answer.length);
    // Heatmaps were on screen while the question still ran.
    expect(what.heatmapWhileRunning).toBe(true);
    // The wait for the engine said what it waits for.
    expect(what.queuedLabel).toBe('it runs one job at a time, and starts this one when free');

    // The whole answer, as `mmi ask` gives it for the same video and sampling with its own default options
    // (greedy is deterministic): the app and the CLI answer at the same length by default.
    const { stdout } = await run(
      process.execPath,
      [
        path.join(repoRoot, 'bin', 'mmi.js'),
        'ask',
        '--video',
        path.join(root, 'long.mp4'),
        '--max-frames',
        String(longFrames),
        '--json',
        'Describe the scene.',
      ],
      { maxBuffer: 64 * 1024 * 1024 },
    );
    const cli = JSON.parse(stdout) as { answer: string; tokens: number[]; videoTokens: number };
    expect(cli.videoTokens).toBe(14000);
    expect(answer).toBe(cli.answer);
    // Never a broken character: bytes that make no text read as <0xHH>.
    expect(answer).not.toContain('\uFFFD');
    expect(await page.getByTestId('turn-facts').textContent()).toContain(`${cli.tokens.length} tokens`);
    // The demo model's notice stands beside its answer.
    expect(await page.getByTestId('turn-0').getByRole('note').textContent()).toContain(
      'trained only on synthetic videos',
    );

    // Timings: vision, pre-fill and decode with its rate.
    const timings = page.getByTestId('timings');
    expect(await page.getByTestId('timing-vision').textContent()).toMatch(/^\d[\d.]* (ms|s)$/);
    expect(await page.getByTestId('timing-prefill').textContent()).toMatch(/for 14,\d{3} tokens$/);
    expect(await page.getByTestId('timing-decode').textContent()).toMatch(/\d+\.\d tokens\/s$/);
    expect(await timings.isVisible()).toBe(true);
    await shot('11-answered');
  });

  it('draws each head on a canvas, different from head to head, and moves between heads with the keyboard', async () => {
    const explorer = page.getByRole('region', { name: 'Heatmap explorer' });
    await explorer.getByTestId('heatmap-original').waitFor();
    const first = await canvasPixels('heatmap-original');
    const label = await explorer.getByTestId('heatmap-original').getAttribute('aria-label');
    expect(first.painted).toBeGreaterThan(0);
    // The lower triangle (causal) is painted, the rest is not: far from all of the canvas, far from none of it.
    expect(first.painted).toBeLessThan(first.width * first.width);
    expect((await canvasPixels('heatmap-permuted')).painted).toBeGreaterThan(0);

    await explorer.locator('[role="gridcell"][aria-selected="true"]').focus();
    await page.keyboard.press('ArrowRight');
    await expect
      .poll(() => explorer.getByTestId('heatmap-original').getAttribute('aria-label'))
      .not.toBe(label);
    const second = await canvasPixels('heatmap-original');
    expect(second.painted).toBeGreaterThan(0);
    expect(second.digest).not.toBe(first.digest);
    await page.keyboard.press('ArrowUp');
    expect(await explorer.getByRole('combobox', { name: 'Layer' }).inputValue()).toBe(
      String(Number((label ?? '').match(/^Layer (\d+)/)?.[1]) - 1),
    );
    const third = await canvasPixels('heatmap-original');
    expect(third.painted).toBeGreaterThan(0);
    expect(third.digest).not.toBe(second.digest);
    expect(await explorer.getByTestId('head-pattern').textContent()).not.toBe('');
    expect(await explorer.getByTestId('head-recall').textContent()).toMatch(/^[01]\.\d{3}/);
    // Each head's recall is one figure, measured where heatmaps were captured, beside the file's calibration
    // figure; the lowest of them is what the timings panel reports.
    expect(await explorer.getByTestId('head-calibration-recall').textContent()).toMatch(/^[01]\.\d{3}$/);
    expect(await page.getByTestId('lowest-recall').textContent()).toMatch(
      /^[01]\.\d{3} \(over \d+ measured sparse heads?\)$/,
    );
    await explorer.getByTestId('heatmap-original').scrollIntoViewIfNeeded();
    await shot('12-heatmaps');
  });

  it('shows every pattern family of the bundled file, and a grid head in its permuted order', async () => {
    const explorer = page.getByRole('region', { name: 'Heatmap explorer' });
    const key = (
      await explorer.getByRole('list', { name: 'Patterns' }).locator('li').allTextContents()
    ).sort();
    expect(key).toEqual([
      '2D-boundary',
      'A-shape',
      'Q-boundary',
      'block-sparse',
      'dense',
      'grid',
      'vertical-slash',
    ]);
    await explorer
      .getByRole('gridcell', { name: /: grid, .*, heatmap$/ })
      .first()
      .click();
    await expect.poll(() => explorer.getByTestId('head-pattern').textContent()).toBe('grid');
    const original = await canvasPixels('heatmap-original');
    const permuted = await canvasPixels('heatmap-permuted');
    expect(original.painted).toBeGreaterThan(0);
    expect(permuted.painted).toBeGreaterThan(0);
    // The grid permutation brings the video's strided lines together: not the same picture as the original order.
    expect(permuted.digest).not.toBe(original.digest);
    await explorer.getByTestId('heatmap-permuted').scrollIntoViewIfNeeded();
    await shot('12b-grid-head-permuted');
  });

  it('answers a follow-up from the cache and lists both questions', async () => {
    await page.getByLabel('Follow-up question').fill('And then?');
    await page.getByRole('button', { name: 'Ask a follow-up' }).click();
    await expect.poll(turnStatus(1), { timeout: 60_000 }).toBe('done');
    const facts = (await page.getByTestId('turn-1').getByTestId('turn-facts').textContent()) ?? '';
    expect(facts).toMatch(/reused from the cache/);
    expect(await page.getByTestId('turn-1').locator('.question').textContent()).toBe(
      'Q (follow-up) And then?',
    );
    expect(await page.getByTestId('turn-0').locator('.question').textContent()).toBe('Q Describe the scene.');
  });

  it('cancels a second question while the engine works on it, and nothing more arrives after', async () => {
    await page.getByRole('button', { name: 'New conversation' }).click();
    await watchTurn(0);
    await page.locator('#question').fill('Count the frames.');
    await page.getByRole('button', { name: 'Ask', exact: true }).click();
    await page.locator('[data-stage="vision"]').waitFor();
    const question = page.getByRole('region', { name: 'Question' });
    await question.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(turnStatus(0), { timeout: 30_000 }).toBe('cancelled');
    const answer = await page.getByTestId('answer-0').textContent();
    expect(await page.getByTestId('turn-cancelled').textContent()).toMatch(
      /^Cancelled (while decoding frames|while encoding frames|during the pre-fill)/,
    );
    await shot('13-cancelled');
    // The engine went back to idle, and the page shows nothing new for the cancelled question.
    await expect
      .poll(() => page.getByTestId('engine-state').textContent(), { timeout: 20_000 })
      .toBe('ready');
    expect(await page.getByTestId('answer-0').textContent()).toBe(answer);
    expect(await page.getByTestId('turn-0').getAttribute('data-status')).toBe('cancelled');
    expect((await seen()).stages).not.toContain('decode');
    // The explorer offers no pre-fill for it, and says why.
    const explorer = page.getByRole('region', { name: 'Heatmap explorer' });
    expect(await explorer.getByTestId('explorer-cancelled').textContent()).toBe(
      'The last question was cancelled before its pre-fill, so it has no heatmaps.',
    );
    expect(await explorer.getByTestId('explorer-status').count()).toBe(0);
    expect(
      await page
        .getByTestId('turn-0')
        .getByRole('button', { name: /pre-fill/ })
        .count(),
    ).toBe(0);
  });

  it('says when the engine process dies, and starts a new one on request', async () => {
    const before = await app.services.engine.status();
    if (before.pid === null) throw new Error('the engine process is not running');
    process.kill(before.pid, 'SIGKILL');
    const state = () => page.getByTestId('engine-state').textContent();
    await expect.poll(state, { timeout: 15_000 }).toBe('crashed');
    const panel = page.getByRole('region', { name: 'Engine' });
    expect(await panel.getByRole('alert').textContent()).toContain('The engine process stopped unexpectedly');
    expect(await panel.getByText('Last crash').count()).toBe(1);
    await shot('16-engine-crashed');
    await panel.getByRole('button', { name: 'Restart the engine' }).click();
    await expect.poll(state, { timeout: 30_000 }).toBe('ready');
    const after = await app.services.engine.status();
    expect(after.pid).not.toBeNull();
    expect(after.pid).not.toBe(before.pid);
    expect(await panel.getByTestId('engine-process').textContent()).toBe(`pid ${after.pid}`);
  });

  it('inspects model folders: what a real one holds, why a broken one cannot be used; chooses one and goes back', async () => {
    const config = JSON.parse(await readFile(path.join(tinyB, 'config.json'), 'utf8')) as {
      text_config: { num_hidden_layers: number; num_attention_heads: number; num_key_value_heads: number };
    };
    const panel = page.getByRole('region', { name: 'Model' });
    await panel.getByLabel('Model folder on the server').fill(path.join(root, 'models', 'broken'));
    await panel.getByRole('button', { name: 'Inspect' }).click();
    const alert = panel.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('MODEL_INVALID');
    await shot('14-model-invalid');

    await panel.getByRole('button', { name: 'Browse the allowed folders…' }).click();
    const folders = panel.getByRole('region', { name: 'Model folder browser' });
    await folders.getByRole('button', { name: 'models/' }).click();
    await folders.getByRole('button', { name: 'tiny-b/' }).click();
    await folders.getByRole('button', { name: 'Use this folder' }).click();
    const found = panel.getByTestId('inspected-model');
    await found.waitFor();
    const text = (await found.textContent()) ?? '';
    const {
      num_hidden_layers: layers,
      num_attention_heads: heads,
      num_key_value_heads: kv,
    } = config.text_config;
    expect(text).toContain('qwen2_5_vl');
    expect(text).toContain(`${layers} layers`);
    expect(text).toContain(`${heads} heads (${kv} key/value)`);
    expect(text).toContain('model-00001-of-00002.safetensors');
    await shot('15-model-found');

    await panel.getByRole('button', { name: 'Use this model' }).click();
    await expect.poll(() => page.locator('.model-badge').textContent()).toBe('qwen2_5_vl: tiny-b');
    expect(await page.getByTestId('embedded-model-notice').count()).toBe(0);
    // Another model is another analysis: the questions so far are gone.
    expect(await page.getByTestId('turn-0').count()).toBe(0);
    await panel.getByRole('button', { name: 'Back to the bundled demo model' }).click();
    await page.getByTestId('embedded-model-notice').waitFor();
  });
});
