import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { patternWorkerEntry } from '../../main/services/patterns/worker-client.js';
import { parsePatternFile } from '../../app/domain/pattern-file-check.js';
import {
  openAppInBrowser,
  placeFile,
  prepareBrowserRun,
  repoRoot,
  shot,
  type AppInBrowser,
} from './support/app-in-browser.js';

// The Patterns view in Debian's Chromium against a real web host and real pattern workers: a small search on the
// bundled demo model over a clip in the allowed folder, watched layer by layer, its file browsed as a layer×head
// grid whose cells are the file's patterns, one head opened (its heatmaps captured under the file), and a
// comparison against dense. Screenshots go to test-results/e2e-browser/.

let root: string;
let folder: string;
let app: AppInBrowser;
let page: Page;

beforeAll(async () => {
  await prepareBrowserRun();
  if (patternWorkerEntry() === null) throw new Error('The pattern worker is not built: run `npm run build`');
  root = await mkdtemp(path.join(tmpdir(), 'mmi-e2e-patterns-'));
  folder = path.join(root, 'app-patterns');
  const clip = path.join(repoRoot, 'models', 'qwen2_5_vl', 'demo', 'testsrc2-4s.mp4');
  await mkdir(path.join(root, 'videos'));
  await placeFile(clip, path.join(root, 'videos', 'clip.mp4'));
  app = await openAppInBrowser({ engine: { threads: 2 }, patterns: { dir: folder, threads: 2 } }, [
    path.join(root, 'videos'),
  ]);
  page = app.page;
});

afterAll(async () => {
  await app?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the Patterns view in a browser', () => {
  it('opens with the pattern file questions use now, listed apart and shown as a grid of readable cells', async () => {
    await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Patterns' }).click();
    const inUse = page.getByTestId('pattern-file-in-use');
    await inUse.waitFor();
    const used = path.join(repoRoot, 'models', 'qwen2_5_vl', 'patterns', 'demo-showcase.json');
    expect(await inUse.getByRole('button').getAttribute('title')).toBe(used);
    // It is open already (no allowed folder holds it): the page is not blank before a search.
    const title = page.getByRole('region', { name: 'Pattern file', exact: true }).locator('h2');
    await expect.poll(() => title.getAttribute('title')).toBe(used);
    expect(await page.getByTestId('no-pattern-file').count()).toBe(0);
    const cell = page
      .getByRole('grid', { name: 'Pattern file: layers and heads' })
      .getByRole('gridcell')
      .first();
    const box = await cell.boundingBox();
    expect(box?.width ?? 0).toBeGreaterThanOrEqual(24);
    await shot(page, 'patterns-start');
  });

  it('runs a small search, shows it per layer, and browses the result as a layer×head grid', async () => {
    const search = page.getByRole('region', { name: 'Pattern search' });
    await search
      .getByRole('region', { name: 'Calibration files' })
      .getByRole('button', { name: 'clip.mp4' })
      .click();
    await expect
      .poll(() => search.getByRole('list', { name: 'Calibration videos' }).textContent())
      .toContain('clip.mp4');
    await search.getByLabel('Candidates').selectOption('short');
    await search.getByLabel('Frames per second').fill('4');
    await search.getByRole('button', { name: 'Start search' }).click();
    const status = search.getByTestId('search-status');
    await expect.poll(() => status.textContent(), { timeout: 120_000 }).toMatch(/^Done in /);
    // Every layer of the one video was scored.
    for (let layer = 0; layer < 4; layer++) {
      expect(await search.getByTestId(`scored-0-${layer}`).getAttribute('class')).toBe('scored');
    }
    await shot(page, 'patterns-search');

    const grid = page.getByRole('grid', { name: 'Pattern file: layers and heads' });
    await grid.waitFor();
    const cells = grid.getByRole('gridcell');
    expect(await cells.count()).toBe(4 * 4);
    // The grid shows the file the search wrote.
    const written =
      (await page
        .getByRole('region', { name: 'Pattern file', exact: true })
        .locator('h2')
        .getAttribute('title')) ?? '';
    expect(path.dirname(written)).toBe(folder);
    const file = parsePatternFile(await readFile(written, 'utf8'));
    for (const [layer, heads] of file.layers.entries()) {
      for (const [head, entry] of heads.heads.entries()) {
        expect(await grid.locator(`[data-cell="${layer}:${head}"]`).getAttribute('data-pattern')).toBe(
          entry.pattern,
        );
      }
    }
  });

  it('opens a head: its heatmaps under the file, original and permuted; then compares with dense', async () => {
    const grid = page.getByRole('grid', { name: 'Pattern file: layers and heads' });
    await grid.locator('[data-cell="1:2"]').click();
    const head = page.getByRole('region', { name: 'Head' });
    await expect.poll(() => head.locator('h2').textContent()).toBe('Layer 1, head 2');
    const original = head.getByTestId('heatmap-original');
    await original.waitFor({ timeout: 120_000 });
    expect(await original.getAttribute('aria-label')).toBe('Layer 1 head 2, original token order');
    expect(await head.getByTestId('heatmap-permuted').isVisible()).toBe(true);
    // The captured head ran the file's pattern.
    const planned = (await head.getByTestId('file-head-pattern').textContent()) ?? '';
    expect(await head.getByTestId('head-pattern').textContent()).toContain(planned);
    // The arrow keys move to the next head, whose layer is captured already.
    await grid.locator('[data-cell="1:2"]').press('ArrowRight');
    await expect.poll(() => head.locator('h2').textContent()).toBe('Layer 1, head 3');
    await head.getByTestId('heatmap-original').waitFor();
    await shot(page, 'patterns-head');

    const compare = page.getByRole('region', { name: 'Compare' });
    await compare.getByRole('button', { name: 'Compare on clip.mp4' }).click();
    const runs = compare.getByTestId('compare-runs');
    await runs.waitFor({ timeout: 120_000 });
    expect(await runs.getByRole('row').count()).toBe(3);
    expect(await compare.getByTestId('compare-agreement').textContent()).toMatch(
      /^Answers agree on \d+ tokens/,
    );
    await shot(page, 'patterns-compare');
  });
});
