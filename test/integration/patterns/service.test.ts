// The pattern commands end to end, with real workers on tiny-a and synthetic videos: a search reports each layer,
// writes a file that loads and fits its model, and shows in the pattern folder; a cancelled search resumes from its
// checkpoint to the bytes of an uninterrupted one; heatmaps of chosen heads hold softmax mass under the file's
// pattern; a comparison's dense run answers what the engine answers to the same question; bad files are refused
// with their kind and JSON path before any pre-fill.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { AppError } from '../../../app/contract/errors.js';
import type { SearchParams } from '../../../app/contract/patterns.js';
import { decodeHeatmap } from '../../../app/domain/heatmap-record.js';
import { parsePatternFile } from '../../../app/domain/pattern-file-check.js';
import { fixturePatternFile, hostileCases, readJsonFile } from '../../support/pattern-files.js';
import { syntheticVideo } from '../../support/synthetic-videos.js';
import { failure, tinyA } from '../engine/support.js';
import { patternsApi, type PatternsApi } from './support.js';

let api: PatternsApi;
let scratch: string;
let videos: string[];
const demo = path.resolve('models/qwen2_5_vl/demo/testsrc2-4s.mp4');

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'mmi-patterns-'));
  api = await patternsApi(path.join(scratch, 'folder'));
  videos = [await syntheticVideo('normal'), demo];
});
afterAll(async () => {
  await api.close();
  await rm(scratch, { recursive: true, force: true });
});

async function search(params: Omit<SearchParams, 'model'>) {
  const started = await api.call('patterns.search', { model: tinyA, ...params });
  const result = await api.outcome(started.jobId);
  if (result.kind !== 'patterns.search') throw new Error(`unexpected ${result.kind}`);
  return { started, search: result.search };
}

describe('patterns.search', () => {
  it('reports every layer, writes a file that fits its model and lists it in the pattern folder', async () => {
    const { started, search: outcome } = await search({
      videos,
      candidates: 'short',
      sampling: { fps: 4 },
    });
    expect(path.dirname(outcome.out)).toBe(path.join(scratch, 'folder'));
    const progress = api.of(started.jobId, 'patterns.progress');
    const layers = progress.filter((p) => p.stage === 'search' && p.done > 0).map((p) => [p.video, p.layer]);
    expect(layers).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
      [1, 2],
    ]);
    expect(progress.some((p) => p.stage === 'vision' && p.item === 'testsrc2-4s.mp4')).toBe(true);
    const file = parsePatternFile(await readFile(outcome.out, 'utf8'));
    expect(file.calibration?.inputs.map((i) => [i.name, i.video_tokens])).toEqual(
      started.plans.map((p, i) => [path.basename(videos[i]!), p.visualTokens]),
    );
    expect(file.search?.cost_target).toBe(0.45);
    expect(existsSync(started.checkpoint)).toBe(false);

    const loaded = await api.call('patterns.load', { path: outcome.out, model: tinyA });
    expect(loaded.fitsModel).toBe(true);
    expect(loaded.summary).toEqual(outcome.summary);
    const listed = await api.call('patterns.list', {});
    expect(listed.files.map((f) => f.path)).toContain(outcome.out);
    // The file questions are pre-filled with is listed apart, and opens.
    const current = await api.call('model.current', {});
    expect(current.patterns).not.toBeNull();
    expect(listed.inUse?.path).toBe(current.patterns);
    expect(listed.inUse?.summary?.layers).toBe(current.info.textLayers);
    const inUse = await api.call('patterns.load', { path: current.patterns ?? '' });
    expect(inUse.fitsModel).toBe(true);
  });

  it('resumes a cancelled search from its checkpoint to the bytes of an uninterrupted one', async () => {
    const params = { videos, sampling: { fps: 10 } };
    const whole = await search({ ...params, out: path.join(scratch, 'whole.json') });
    const out = path.join(scratch, 'resumed.json');
    const started = await api.call('patterns.search', { model: tinyA, ...params, out });
    const stop = api.listen((r) => {
      const p = r.payload as { jobId?: string; stage?: string; done?: number };
      if (
        r.event === 'patterns.progress' &&
        p.jobId === started.jobId &&
        p.stage === 'search' &&
        (p.done ?? 0) >= 1
      ) {
        stop();
        void api.call('job.cancel', { jobId: started.jobId }).catch(() => undefined);
      }
    });
    const cancelled = await failure(api.outcome(started.jobId));
    expect(cancelled.code).toBe('CANCELLED');
    expect(existsSync(started.checkpoint)).toBe(true);
    expect(existsSync(out)).toBe(false);

    const resumed = await search({ ...params, out, resume: true });
    expect(resumed.search.resumedUnits).toBeGreaterThanOrEqual(1);
    expect(await readFile(out, 'utf8')).toBe(await readFile(whole.search.out, 'utf8'));
    expect(existsSync(started.checkpoint)).toBe(false);
  });
});

describe('patterns.heatmaps and patterns.compare', () => {
  const committed = fixturePatternFile('tiny-a');

  it('captures the heads asked for under the file: softmax mass per sampled row, the file’s pattern', async () => {
    const heads = [
      { layer: 0, head: 1 },
      { layer: 2, head: 3 },
    ];
    const { jobId } = await api.call('patterns.heatmaps', {
      model: tinyA,
      video: demo,
      patterns: committed,
      heads,
      grid: 16,
    });
    const result = await api.outcome(jobId);
    if (result.kind !== 'patterns.heatmaps') throw new Error(result.kind);
    const file = parsePatternFile(await readFile(committed, 'utf8'));
    expect(result.heatmaps.heads.map((h) => [h.heatmap.layer, h.heatmap.head])).toEqual([
      [0, 1],
      [2, 3],
    ]);
    for (const { heatmap, report } of result.heatmaps.heads) {
      const planned = file.layers[heatmap.layer]!.heads[heatmap.head]!.pattern;
      expect(report.planned).toBe(planned);
      expect(heatmap.pattern).toBe(report.applied);
      const record = decodeHeatmap(heatmap)!;
      // Every sampled row's softmax sums to 1: a row bin's cells hold the mean of its rows' mass.
      for (let row = 0; row < record.grid; row++) {
        if (record.rowSamples[row] === 0) continue;
        const sum = record.mass
          .subarray(row * record.grid, (row + 1) * record.grid)
          .reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(1, 4);
      }
    }
  });

  it('compares a file against dense: the dense run answers as the engine does; a file against itself agrees', async () => {
    const question = 'What is in this video?';
    const { jobId } = await api.call('patterns.compare', {
      model: tinyA,
      video: demo,
      question,
      a: committed,
      b: null,
      maxTokens: 8,
    });
    const result = await api.outcome(jobId);
    if (result.kind !== 'patterns.compare') throw new Error(result.kind);
    const c = result.comparison;
    expect(c.runs.map((r) => r.run)).toEqual(['dense', 'a']);
    expect(c.heads).toHaveLength(3 * 4);
    expect(c.heads.every((h) => h.b.applied === 'dense' && h.b.density === 1)).toBe(true);
    expect(c.runs[1]!.predictedMs).not.toBeNull();

    await api.call('model.choose', { dir: tinyA });
    const asked = await api.call('engine.ask', {
      video: demo,
      question,
      patterns: null,
      generation: { maxTokens: 8 },
    });
    const answer = await api.outcome(asked.jobId);
    if (answer.kind !== 'engine.ask') throw new Error(answer.kind);
    expect(c.runs[0]!.tokens).toEqual(answer.answer.tokens);

    const same = await api.call('patterns.compare', {
      model: tinyA,
      video: demo,
      a: committed,
      b: committed,
      maxTokens: 8,
    });
    const again = await api.outcome(same.jobId);
    if (again.kind !== 'patterns.compare') throw new Error(again.kind);
    expect(again.comparison.agreement).toEqual({ prefix: 8, matching: 8, total: 8 });
    for (const h of again.comparison.heads) expect(h.a.density).toBe(h.b.density);
  });

  it('refuses bad and foreign files with their kind and JSON path', async () => {
    const [hostile] = hostileCases(readJsonFile(committed)).filter((c) => c.kind === 'UnknownPattern');
    const bad = path.join(scratch, 'hostile.json');
    await writeFile(bad, hostile!.text);
    const loadError = await failure(api.call('patterns.load', { path: bad, model: null }));
    expect(loadError).toMatchObject({
      code: 'PATTERN_FILE_INVALID',
      detail: 'UnknownPattern: layers[1].heads[2].pattern',
    });

    const foreign = await api.call('patterns.compare', {
      model: tinyA,
      video: demo,
      a: fixturePatternFile('tiny-b'),
      b: null,
    });
    const e: AppError = await failure(api.outcome(foreign.jobId));
    expect(e.code).toBe('PATTERN_FILE_INVALID');
    expect(e.detail).toMatch(/^WrongModel: model\./);
    const loaded = await api.call('patterns.load', { path: fixturePatternFile('tiny-b'), model: tinyA });
    expect(loaded.fitsModel).toBe(false);
    expect(loaded.problem).toMatch(/WrongModel/);
  });
});
