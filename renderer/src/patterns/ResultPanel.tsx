import type { LoadedPatternFile } from '../../../app/contract/patterns.js';
import { gridImage, gridSvg, presentPatterns } from '../../../app/domain/pattern-figures.js';
import { patternColours, patternLabels } from '../../../app/domain/pattern-colours.js';
import { formatCounts, patternCsv } from '../../../app/domain/pattern-summary.js';
import { downloadPng, downloadText } from './downloads.js';
import { PatternGrid } from './PatternGrid.js';
import type { GridColour } from './patterns-store.js';
import { usePatterns } from './use-patterns.js';

const num = (v: number | null, digits = 3): string => (v === null ? '—' : v.toFixed(digits));
const stem = (path: string): string => (path.split(/[\\/]/).pop() ?? 'patterns').replace(/\.json$/i, '');

function Summary(props: { loaded: LoadedPatternFile }) {
  const { summary, file } = props.loaded;
  return (
    <>
      <dl className="facts" data-testid="pattern-summary">
        <dt>Model</dt>
        <dd>
          {summary.family}, {summary.layers} layers × {summary.heads} heads ({file.model.kv_heads} kv heads,
          head dim {file.model.head_dim})
        </dd>
        <dt>Patterns</dt>
        <dd data-testid="pattern-counts">{formatCounts(summary.counts)}</dd>
        <dt>Calibration</dt>
        <dd>
          mean recall {num(summary.meanRecall)}, density {num(summary.meanDensity)}, cost{' '}
          {num(summary.meanCost)}
          {summary.costTarget !== null
            ? ` (cost target ${summary.costTarget}, ${summary.candidates} candidates)`
            : ''}
        </dd>
        <dt>Inputs</dt>
        <dd>
          {summary.inputs.length === 0
            ? 'not recorded (a hand-written file)'
            : summary.inputs.map((i) => `${i.name} (${i.tokens} tokens, ${i.videoTokens} video)`).join('; ')}
        </dd>
      </dl>
      <table className="layer-summary">
        <thead>
          <tr>
            <th scope="col">layer</th>
            <th scope="col">patterns</th>
            <th scope="col">recall</th>
            <th scope="col">density</th>
          </tr>
        </thead>
        <tbody>
          {summary.perLayer.map((l) => (
            <tr key={l.layer}>
              <td>{l.layer}</td>
              <td>{formatCounts(l.counts)}</td>
              <td>{num(l.meanRecall)}</td>
              <td>{num(l.meanDensity)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Before any file is open: what this view is for and how to start. */
function NoFileYet() {
  return (
    <section className="panel" aria-label="Pattern file" data-testid="no-pattern-file">
      <h2>No pattern file open</h2>
      <p>
        A pattern file gives every attention head of a model the sparse pattern its pre-fill runs: A-shape,
        vertical-slash, block-sparse, or for video the grid and boundary patterns that follow frames and
        modality changes. Open one to see it as a layer × head grid, each head&apos;s attention on a video
        under it (in original and permuted order), and a comparison against dense attention.
      </p>
      <ol>
        <li>Open the file questions use now, or a search made here (left).</li>
        <li>Or search one: add calibration videos, pick the candidates, and start a search.</li>
      </ol>
    </section>
  );
}

/** The loaded file: its summary, the layer×head grid, and the figures and numbers to download. */
export function ResultPanel() {
  const current = usePatterns((s) => s.current);
  const selected = usePatterns((s) => s.selected);
  const colour = usePatterns((s) => s.colour);
  const setSettings = usePatterns((s) => s.setSettings);
  const selectHead = usePatterns((s) => s.selectHead);
  if (current.status !== 'ready') return <NoFileYet />;
  const { loaded } = current;
  const name = stem(loaded.path);
  return (
    <section className="panel" aria-label="Pattern file">
      <h2 title={loaded.path}>{name}.json</h2>
      {loaded.fitsModel === false ? (
        <p className="warning" role="alert">
          Made for another model: {loaded.problem}
        </p>
      ) : null}
      <Summary loaded={loaded} />
      <div className="row">
        <label>
          Colour{' '}
          <select
            value={colour}
            aria-label="Grid colour"
            onChange={(e) => setSettings({ colour: e.target.value as GridColour })}
          >
            <option value="pattern">by pattern</option>
            <option value="recall">by recall</option>
            <option value="density">by density</option>
          </select>
        </label>
        <button
          type="button"
          className="secondary"
          onClick={() => void downloadPng(`${name}-grid.png`, gridImage(loaded.file))}
        >
          Grid PNG
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() =>
            downloadText(`${name}-grid.svg`, gridSvg(loaded.file, `${name}.json`), 'image/svg+xml')
          }
        >
          Grid SVG
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() => downloadText(`${name}-heads.csv`, patternCsv(loaded.file), 'text/csv')}
        >
          Numbers CSV
        </button>
        <button
          type="button"
          className="secondary"
          onClick={() =>
            downloadText(`${name}.json`, `${JSON.stringify(loaded.file, null, 2)}\n`, 'application/json')
          }
        >
          Pattern file
        </button>
      </div>
      <div className="pattern-result">
        <PatternGrid
          file={loaded.file}
          colour={colour}
          layer={selected.layer}
          head={selected.head}
          onSelect={selectHead}
        />
        <ul className="pattern-key" aria-label="Patterns">
          {colour === 'pattern' ? (
            presentPatterns(loaded.file).map((p) => (
              <li key={p}>
                <span className="swatch" style={{ background: patternColours[p] }} aria-hidden="true" />
                {patternLabels[p]}
              </li>
            ))
          ) : (
            <li>
              <span className="swatch ramp" aria-hidden="true" /> {colour} 0 → 1 (viridis); hatched: not
              measured
            </li>
          )}
        </ul>
      </div>
    </section>
  );
}
