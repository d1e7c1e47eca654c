import { useMemo } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { HeadReport } from '../../../app/contract/engine.js';
import { domainFor, formatValue, type ValueScale } from '../heatmap/colour-scale.js';
import { maxOf, paintHeatmap } from '../heatmap/paint.js';
import { explorableTurns, isActive, shownTurn } from '../state/ask-slice.js';
import { headKey, type HeatmapRecord } from '../state/captures.js';
import { useAppState } from '../state/store-context.js';
import { ColourLegend } from './ColourLegend.js';
import { formatCount } from './format.js';
import { HeadGrid, PatternKey, patternLabels } from './HeadGrid.js';
import { HeatmapCanvas } from './HeatmapCanvas.js';
import { figureHelp, formatDensity, formatRecall, recallText } from './head-figures.js';

const canvasSize = 300;

const denseReasonText: Record<HeadReport['denseReason'], string> = {
  none: '',
  no_pattern_file: 'no pattern file',
  pattern_is_dense: 'the pattern file says dense',
  short_prompt: 'the prompt is too short for a sparse pattern',
  recall_floor: 'the estimated index kept too little attention (recall floor)',
  continued_queries: 'a follow-up pre-fills rows after the cached prompt',
};

/**
 * The pre-fill's attention per layer and head: the head picked (by the grid, the selectors or the arrow keys) in
 * original token order beside the pattern's permuted (kernel) order, on one colour scale, with the mask's share
 * overlaid; and what that head's pattern did. While a question runs it follows the layer being pre-filled.
 */
export function HeatmapExplorer() {
  const turn = useAppState(shownTurn);
  const turns = useAppState((s) => s.conversation.turns);
  const explorer = useAppState((s) => s.explorer);
  const model = useAppState((s) => s.model);
  const captures = useAppState((s) => s.captures);
  const selectHead = useAppState((s) => s.selectHead);
  const setExplorer = useAppState((s) => s.setExplorer);
  useStore(captures.version, (s) => s.version);

  const capture = turn?.jobId ? captures.get(turn.jobId) : undefined;
  const info = turn?.started?.model.info ?? (model.status === 'ready' ? model.choice.info : null);
  const layers = info?.textLayers ?? 0;
  const heads = info?.heads ?? 0;
  const live = turn !== undefined && isActive(turn);
  const followed = explorer.follow && capture?.lastLayer != null ? capture.lastLayer : explorer.layer;
  const layer = clamp(followed, layers);
  const head = clamp(explorer.head, heads);
  const record = capture?.heatmaps.get(headKey(layer, head));
  const report = capture?.heads.get(headKey(layer, head));
  const asked = useAppState(useShallow(explorableTurns));
  const latest = turns.at(-1);
  const cancelledEarly = latest !== undefined && latest.status === 'cancelled' && !asked.includes(latest);

  return (
    <section className="panel" aria-label="Heatmap explorer">
      <h2>Attention heatmaps</h2>
      {cancelledEarly ? (
        <p className="muted" data-testid="explorer-cancelled">
          The last question was cancelled before its pre-fill, so it has no heatmaps
          {turn ? '; below, the latest question that has them.' : '.'}
        </p>
      ) : null}
      {!turn || layers === 0 ? (
        cancelledEarly ? null : (
          <p className="muted">
            Ask a question: the pre-fill&apos;s attention per layer and head appears here while it runs.
          </p>
        )
      ) : (
        <>
          <div className="row explorer-controls">
            {asked.length > 1 ? (
              <label>
                Question{' '}
                <select
                  value={turn.key}
                  onChange={(e) => setExplorer({ turnKey: Number(e.target.value) })}
                  aria-label="Question shown"
                >
                  {asked.map((t, i) => (
                    <option key={t.key} value={t.key}>
                      {i + 1}. {t.question.length > 40 ? `${t.question.slice(0, 40)}…` : t.question}
                    </option>
                  ))}
                </select>
              </label>
            ) : null}
            <label>
              Layer{' '}
              <select
                value={layer}
                onChange={(e) => selectHead(Number(e.target.value), head)}
                aria-label="Layer"
              >
                {Array.from({ length: layers }, (_, l) => (
                  <option key={l} value={l}>
                    {l}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Head{' '}
              <select
                value={head}
                onChange={(e) => selectHead(layer, Number(e.target.value))}
                aria-label="Head"
              >
                {Array.from({ length: heads }, (_, h) => (
                  <option key={h} value={h}>
                    {h}
                  </option>
                ))}
              </select>
            </label>
            <label>
              <input
                type="checkbox"
                checked={explorer.follow}
                onChange={(e) => setExplorer({ follow: e.target.checked, layer })}
              />{' '}
              Follow the pre-fill
            </label>
            <label>
              Scale{' '}
              <select
                value={explorer.scale}
                onChange={(e) => setExplorer({ scale: e.target.value === 'linear' ? 'linear' : 'log' })}
                aria-label="Colour scale"
              >
                <option value="log">log</option>
                <option value="linear">linear</option>
              </select>
            </label>
            <label>
              <input
                type="checkbox"
                checked={explorer.overlay}
                onChange={(e) => setExplorer({ overlay: e.target.checked })}
              />{' '}
              Mask overlay
            </label>
          </div>
          <p className="muted" role="status" data-testid="explorer-status">
            {live
              ? `Pre-fill ${turn.stages.prefill ? `at layer ${turn.stages.prefill.done} of ${turn.stages.prefill.total ?? layers}` : 'not started yet'}`
              : `${capture ? formatCount(capture.heatmaps.size) : 0} heatmaps, ${capture ? formatCount(capture.heads.size) : 0} head reports`}
          </p>
          <div className="explorer-body">
            <div>
              <HeadGrid
                layers={layers}
                heads={heads}
                capture={capture}
                layer={layer}
                head={head}
                onSelect={selectHead}
              />
              <PatternKey capture={capture} />
            </div>
            <div className="explorer-maps">
              {record ? (
                <HeadMaps record={record} scale={explorer.scale} overlay={explorer.overlay} />
              ) : (
                <p className="muted heatmap-missing" data-testid="heatmap-missing">
                  Layer {layer}, head {head}:{' '}
                  {live ? 'waiting for the pre-fill to reach it.' : 'no heatmap was captured for this head.'}
                </p>
              )}
              <HeadFacts layer={layer} head={head} report={report} record={record} />
            </div>
          </div>
        </>
      )}
    </section>
  );
}

export function HeadMaps(props: { record: HeatmapRecord; scale: ValueScale; overlay: boolean }) {
  const { record, scale, overlay } = props;
  const domain = useMemo(() => domainFor(scale, maxOf(record.mass, record.massPermuted)), [record, scale]);
  const original = useMemo(
    () =>
      paintHeatmap({
        grid: record.grid,
        mass: record.mass,
        mask: overlay ? record.mask : null,
        rowSamples: record.rowSamples,
        domain,
      }),
    [record, overlay, domain],
  );
  const permuted = useMemo(
    () =>
      paintHeatmap({
        grid: record.grid,
        mass: record.massPermuted,
        mask: overlay ? record.maskPermuted : null,
        rowSamples: record.rowSamplesPermuted,
        domain,
      }),
    [record, overlay, domain],
  );
  const describe = (permutedOrder: boolean) => (row: number, col: number) =>
    describeCell(record, permutedOrder, row, col);
  return (
    <>
      <div className="heatmap-pair">
        <HeatmapCanvas
          grid={record.grid}
          pixels={original}
          size={canvasSize}
          label={`Layer ${record.layer} head ${record.head}, original token order`}
          testId="heatmap-original"
          describeCell={describe(false)}
        />
        <HeatmapCanvas
          grid={record.grid}
          pixels={permuted}
          size={canvasSize}
          label={`Layer ${record.layer} head ${record.head}, ${patternLabels[record.pattern]} permuted order`}
          testId="heatmap-permuted"
          describeCell={describe(true)}
        />
      </div>
      <ColourLegend domain={domain} overlay={overlay} />
    </>
  );
}

/** Token positions a bin covers (bins are position · G / tokens). */
function binRange(bin: number, grid: number, tokens: number): string {
  const first = Math.ceil((bin * tokens) / grid);
  const last = Math.min(tokens, Math.ceil(((bin + 1) * tokens) / grid)) - 1;
  return last <= first ? `${first}` : `${first}–${last}`;
}

function describeCell(record: HeatmapRecord, permutedOrder: boolean, row: number, col: number): string {
  const cell = row * record.grid + col;
  const mass = (permutedOrder ? record.massPermuted : record.mass)[cell] ?? 0;
  const mask = (permutedOrder ? record.maskPermuted : record.mask)[cell] ?? 0;
  const samples = (permutedOrder ? record.rowSamplesPermuted : record.rowSamples)[row] ?? 0;
  const where = `${permutedOrder ? 'kernel rows' : 'queries'} ${binRange(row, record.grid, record.tokens)}, ${
    permutedOrder ? 'kernel keys' : 'keys'
  } ${binRange(col, record.grid, record.tokens)}`;
  if (samples === 0) return `${where}: no sampled query in these rows`;
  return `${where}: mass ${formatValue(mass)}, the mask keeps ${(mask * 100).toFixed(0)}% of the pairs (${samples} sampled ${samples === 1 ? 'query' : 'queries'})`;
}

export function HeadFacts(props: {
  layer: number;
  head: number;
  report: HeadReport | undefined;
  record: HeatmapRecord | undefined;
}) {
  const { report, record } = props;
  if (!report && !record) return null;
  return (
    <dl className="facts head-facts" data-testid="head-facts">
      <dt>Pattern</dt>
      <dd data-testid="head-pattern">
        {report
          ? `${patternLabels[report.applied]}${
              report.planned !== report.applied ? ` (planned ${patternLabels[report.planned]})` : ''
            }${report.denseReason !== 'none' ? ` — dense because ${denseReasonText[report.denseReason]}` : ''}`
          : record
            ? patternLabels[record.pattern]
            : ''}
      </dd>
      {report ? (
        <>
          <dt title={figureHelp.density}>Density</dt>
          <dd data-testid="head-density" title={figureHelp.density}>
            {formatDensity(report.density)} of {formatCount(report.queries)} × {formatCount(report.keys)}{' '}
            causal pairs
          </dd>
          <dt title={figureHelp.recall}>Recall on this prompt</dt>
          <dd data-testid="head-recall" title={figureHelp.recall}>
            {recallText(report)}
          </dd>
          <dt title={figureHelp.calibrationRecall}>Recall at calibration</dt>
          <dd data-testid="head-calibration-recall" title={figureHelp.calibrationRecall}>
            {report.calibrationRecall === null
              ? 'no pattern file, or none recorded'
              : formatRecall(report.calibrationRecall)}
          </dd>
          <dt>Time</dt>
          <dd>
            {report.attentionMs.toFixed(1)} ms attention, {report.estimationMs.toFixed(1)} ms estimation
          </dd>
        </>
      ) : null}
      {record ? (
        <>
          {report ? null : (
            <>
              <dt title={figureHelp.recall}>Recall on this prompt</dt>
              <dd data-testid="head-recall" title={figureHelp.recall}>
                {formatRecall(record.recall)}
              </dd>
            </>
          )}
          <dt title={figureHelp.coverage}>Mask coverage</dt>
          <dd title={figureHelp.coverage}>
            {formatDensity(record.coverage)} of the sampled rows&apos; pairs
          </dd>
          <dt>Tokens</dt>
          <dd>
            {formatCount(record.tokens)} ({record.grid}×{record.grid} cells)
          </dd>
          {record.gridChoices.length > 0 ? (
            <>
              <dt>Grid</dt>
              <dd>
                {record.gridChoices
                  .map(
                    (g) =>
                      `stride ${g.stride} over tokens ${g.start}–${g.start + g.length - 1}, phases ${g.phases.join(', ')}`,
                  )
                  .join('; ')}
              </dd>
            </>
          ) : null}
        </>
      ) : null}
    </dl>
  );
}

function clamp(value: number, count: number): number {
  return Math.min(Math.max(0, value), Math.max(0, count - 1));
}
