// @vitest-environment jsdom
// The Patterns view against a scripted bridge, in jsdom (no canvas: drawing is skipped, what is shown around it is
// not): a search's progress fills the video × layer matrix once per frame, even for events that arrive before its
// id; its file opens as a layer×head grid; picking a head captures its layer's heatmaps and shows them with the
// explorer's components; a comparison lists its runs.
import { readFileSync } from 'node:fs';

import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { LoadedPatternFile } from '../../../../../app/contract/patterns.js';
import { parsePatternFile } from '../../../../../app/domain/pattern-file-check.js';
import { summarizePatternFile } from '../../../../../app/domain/pattern-summary.js';
import { patternsStoreFor } from '../../../../../renderer/src/patterns/patterns-store.js';
import { PatternsView } from '../../../../../renderer/src/patterns/PatternsView.js';
import { StoreProvider } from '../../../../../renderer/src/state/store-context.js';
import { createAppStore } from '../../../../../renderer/src/state/store.js';
import { fixturePatternFile } from '../../../../support/pattern-files.js';
import { askPlan, embeddedChoice, headReport, heatmap } from '../../../../support/engine-samples.js';
import { scriptedBridge } from '../../../../support/scripted-bridge.js';

beforeEach(() => {
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
});
afterEach(() => {
  cleanup();
  vi.restoreAllMocks();
});

const filePath = '/data/patterns/tiny-a.json';
const file = parsePatternFile(readFileSync(fixturePatternFile('tiny-a'), 'utf8'));
const loaded: LoadedPatternFile = {
  path: filePath,
  file,
  summary: summarizePatternFile(file),
  fitsModel: true,
  problem: null,
};

function setup() {
  const script = scriptedBridge();
  const app = createAppStore(script.bridge, script.nextFrame);
  app.setState({ model: { status: 'ready', choice: embeddedChoice } });
  const patterns = patternsStoreFor(script.bridge, script.nextFrame);
  render(
    <StoreProvider store={app} bridge={script.bridge}>
      <PatternsView />
    </StoreProvider>,
  );
  // The file list is asked for on first show.
  script.take('patterns.list').resolve({ dir: '/data/patterns', files: [], inUse: null });
  return { ...script, patterns };
}

describe('the Patterns view', () => {
  it('runs a search on chosen videos and fills its video × layer matrix as layers are scored', async () => {
    const { patterns, take, emit, paint } = setup();
    act(() => {
      patterns.getState().addVideo('/videos/a.mp4');
      patterns.getState().addVideo('/videos/b.mp4');
    });
    expect(screen.getByRole('list', { name: 'Calibration videos' }).textContent).toContain('b.mp4');
    fireEvent.change(screen.getByLabelText('Candidates'), { target: { value: 'short' } });
    fireEvent.click(screen.getByRole('button', { name: 'Start search' }));
    const call = take('patterns.search', 'search-1');
    expect(call.params).toEqual({
      videos: ['/videos/a.mp4', '/videos/b.mp4'],
      candidates: 'short',
      jobId: 'search-1',
    });
    // The job's id is the store's own, sent with the command: the worker's reports before the answer apply.
    const progress = (done: number) => ({
      jobId: 'search-1',
      stage: 'search' as const,
      done,
      total: 6,
      video: Math.floor((done - 1) / 3),
      videos: 2,
      layer: (done - 1) % 3,
      layers: 3,
    });
    act(() => emit('patterns.progress', progress(1)));
    await act(async () => {
      call.resolve({
        jobId: 'search-1',
        out: filePath,
        checkpoint: `${filePath}.ckpt`,
        plans: [askPlan, askPlan],
        model: '/models/tiny',
      });
    });
    act(() => {
      emit('patterns.progress', progress(2));
      emit('patterns.progress', progress(4));
    });
    // Nothing applied before the frame.
    expect(screen.queryByTestId('scored-0-0')).toBeNull();
    act(() => paint());
    const scored = (v: number, l: number) => screen.getByTestId(`scored-${v}-${l}`).className === 'scored';
    expect([scored(0, 0), scored(0, 1), scored(0, 2), scored(1, 0), scored(1, 1)]).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
    expect(screen.getByTestId('search-status').textContent).toBe(
      'Scored layer 1 of 3 on video 2 of 2 (4 / 6 units)',
    );

    await act(async () => {
      emit('job.done', {
        jobId: 'search-1',
        result: {
          kind: 'patterns.search',
          search: { out: filePath, summary: loaded.summary, resumedUnits: 0, elapsedMs: 1500 },
        },
      });
    });
    expect(screen.getByTestId('search-status').textContent).toBe('Done in 1.5 s: tiny-a.json');
    // The finished file is listed and opened.
    take('patterns.list').resolve({ dir: '/data/patterns', files: [] });
    await act(async () => take('patterns.load').resolve(loaded));
    expect(
      within(screen.getByRole('grid', { name: 'Pattern file: layers and heads' })).getAllByRole('gridcell'),
    ).toHaveLength(3 * 4);
  });

  it('opens a head: captures its layer under the file and shows its heatmaps; compares against dense', async () => {
    const { patterns, take, emit } = setup();
    act(() => patterns.getState().addVideo('/videos/a.mp4'));
    const loading = patterns.getState().loadFile(filePath);
    await act(async () => {
      take('patterns.load').resolve(loaded);
      await loading;
    });
    expect(screen.getByTestId('pattern-counts').textContent).toBe(
      Object.entries(loaded.summary.counts)
        .filter(([, n]) => n > 0)
        .map(([name, n]) => `${name} ${n}`)
        .join(', '),
    );
    const cell = screen.getByRole('gridcell', { name: /^Layer 2, head 1:/ });
    expect(cell.getAttribute('aria-label')).toContain(
      `recall ${file.layers[2]!.heads[1]!.calibration!.recall.toFixed(3)}`,
    );
    fireEvent.click(cell);
    const capture = take('patterns.heatmaps', 'maps-1');
    expect(capture.params).toEqual({
      video: '/videos/a.mp4',
      patterns: filePath,
      heads: [0, 1, 2, 3].map((head) => ({ layer: 2, head })),
      jobId: 'maps-1',
    });
    await act(async () => capture.resolve({ jobId: 'maps-1' }));
    const head = screen.getByRole('region', { name: 'Head' });
    expect(within(head).getByTestId('file-head-pattern').textContent).not.toBe('');
    await act(async () => {
      emit('job.done', {
        jobId: 'maps-1',
        result: {
          kind: 'patterns.heatmaps',
          heatmaps: {
            video: '/videos/a.mp4',
            patterns: filePath,
            promptTokens: 300,
            heads: [0, 1, 2, 3].map((h) => {
              const { jobId: _h, ...map } = heatmap('maps-1', 2, h, 8, (r, c) => (c <= r ? 1 / (r + 1) : 0));
              const { jobId: _r, ...report } = headReport('maps-1', 2, h);
              return { heatmap: map, report };
            }),
          },
        },
      });
    });
    expect(within(head).getByTestId('heatmap-original').getAttribute('aria-label')).toBe(
      'Layer 2 head 1, original token order',
    );
    expect(within(head).getByTestId('head-recall').textContent).toBe('0.970');

    fireEvent.click(screen.getByRole('button', { name: 'Compare on a.mp4' }));
    const compare = take('patterns.compare', 'cmp-1');
    expect(compare.params).toEqual({ video: '/videos/a.mp4', a: filePath, b: null, jobId: 'cmp-1' });
    await act(async () => compare.resolve({ jobId: 'cmp-1' }));
    const run = (name: 'dense' | 'a', patterns: string | null, ms: number) => ({
      run: name,
      patterns,
      prefillMs: ms,
      attentionMs: ms / 2,
      estimationMs: 1,
      predictedMs: patterns === null ? null : ms - 10,
      density: patterns === null ? 1 : 0.5,
      meanRecall: patterns === null ? null : 0.9,
      tokens: [1, 2, 3],
      answer: 'abc',
    });
    await act(async () => {
      emit('job.done', {
        jobId: 'cmp-1',
        result: {
          kind: 'patterns.compare',
          comparison: {
            video: '/videos/a.mp4',
            plan: askPlan,
            promptTokens: 300,
            runs: [run('dense', null, 100), run('a', filePath, 60)],
            heads: [],
            agreement: { prefix: 3, matching: 3, total: 3 },
          },
        },
      });
    });
    const rows = within(screen.getByTestId('compare-runs')).getAllByRole('row');
    expect(rows.map((r) => r.textContent)).toEqual([
      'runpre-fillpredicteddensitymean recallanswer',
      'dense100 ms—1.000—abc',
      'tiny-a.json60 ms50 ms0.5000.900abc',
    ]);
    expect(screen.getByTestId('compare-agreement').textContent).toMatch(/^Answers agree on 3 tokens/);
  });
});
