import { useStore } from 'zustand';
import type { HeadReport } from '../../../app/contract/engine.js';
import { shownTurn } from '../state/ask-slice.js';
import { figureHelp, formatDensity, formatRecall } from './head-figures.js';
import { useAppState } from '../state/store-context.js';
import { formatCount } from './format.js';

/** Where the time of a question went: vision, pre-fill, decode; and what the sparse pre-fill did per head. */
export function TimingsPanel() {
  const turn = useAppState(shownTurn);
  const captures = useAppState((s) => s.captures);
  useStore(captures.version, (s) => s.version);
  const heads = turn?.jobId ? [...(captures.get(turn.jobId)?.heads.values() ?? [])] : [];
  const timings = turn?.result?.timings ?? null;
  return (
    <section className="panel" aria-label="Timings">
      <h2>Timings</h2>
      {!turn ? <p className="muted">Ask a question to see where its time goes.</p> : null}
      {turn && !timings ? (
        <p className="muted">
          {turn.status === 'running' || turn.status === 'starting' || turn.status === 'cancelling'
            ? 'The timings come with the answer.'
            : 'This question has no timings (it did not finish).'}
        </p>
      ) : null}
      {timings ? (
        <dl className="facts timings" data-testid="timings">
          <dt>Model load</dt>
          <dd>{ms(timings.loadMs)}</dd>
          <dt>Video decode</dt>
          <dd>{ms(timings.videoMs)}</dd>
          <dt>Vision</dt>
          <dd data-testid="timing-vision">{ms(timings.visionMs)}</dd>
          <dt>Pre-fill</dt>
          <dd data-testid="timing-prefill">
            {ms(timings.prefillMs)}
            {turn?.result ? ` for ${formatCount(turn.result.prefilledTokens)} tokens` : ''}
          </dd>
          <dt>First token</dt>
          <dd>{timings.firstTokenMs === null ? '—' : `${ms(timings.firstTokenMs)} after the start`}</dd>
          <dt>Decode</dt>
          <dd data-testid="timing-decode">
            {ms(timings.decodeMs)}, {timings.decodeTokensPerSec.toFixed(1)} tokens/s
          </dd>
          <dt>Total</dt>
          <dd>{ms(timings.totalMs)}</dd>
        </dl>
      ) : null}
      {heads.length > 0 ? <HeadSummary heads={heads} /> : null}
    </section>
  );
}

function HeadSummary(props: { heads: HeadReport[] }) {
  const { heads } = props;
  const sparse = heads.filter((h) => h.applied !== 'dense').length;
  const estimation = heads.reduce((sum, h) => sum + h.estimationMs, 0);
  const attention = heads.reduce((sum, h) => sum + h.attentionMs, 0);
  const density = heads.reduce((sum, h) => sum + h.density, 0) / heads.length;
  // Over the sparse heads whose recall was measured (dense heads keep everything).
  const recalls = heads.flatMap((h) => (h.recall === null || h.applied === 'dense' ? [] : [h.recall]));
  const minRecall = recalls.length > 0 ? Math.min(...recalls) : null;
  return (
    <>
      <h3 className="subheading">Sparse pre-fill, per head</h3>
      <dl className="facts" data-testid="head-summary">
        <dt>Heads</dt>
        <dd>
          {formatCount(heads.length)} reported, {formatCount(sparse)} sparse,{' '}
          {formatCount(heads.length - sparse)} dense
        </dd>
        <dt>Attention</dt>
        <dd>
          {ms(attention)} + {ms(estimation)} index estimation (sum over heads)
        </dd>
        <dt title={figureHelp.density}>Mean density</dt>
        <dd title={figureHelp.density}>{formatDensity(density)} of causal pairs</dd>
        <dt title={figureHelp.recall}>Lowest recall on this prompt</dt>
        <dd data-testid="lowest-recall" title={figureHelp.recall}>
          {minRecall !== null
            ? `${formatRecall(minRecall)} (over ${formatCount(recalls.length)} measured sparse ${recalls.length === 1 ? 'head' : 'heads'})`
            : sparse === 0
              ? 'every head ran dense'
              : 'not measured (capture heatmaps of sparse heads)'}
        </dd>
      </dl>
    </>
  );
}

function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(value < 10 ? 1 : 0)} ms`;
}
