import { useState } from 'react';
import type { ValueScale } from '../../../app/domain/heatmap-colour-scale.js';
import { heatmapFileName, heatmapImage } from '../../../app/domain/pattern-figures.js';
import { patternLabels } from '../../../app/domain/pattern-colours.js';
import { formatBudgets } from '../../../app/domain/pattern-summary.js';
import { headKey } from '../state/captures.js';
import { ErrorMessage } from '../views/ErrorMessage.js';
import { HeadFacts, HeadMaps } from '../views/HeatmapExplorer.js';
import { figureHelp, formatDensity, formatRecall } from '../views/head-figures.js';
import { downloadPng } from './downloads.js';
import { stageText } from './SearchPanel.js';
import { isBusy, usePatterns } from './use-patterns.js';

const baseName = (path: string): string => path.split(/[\\/]/).pop() ?? path;

/**
 * The selected head: what the file says about it, and its attention on a video under the file (original and
 * permuted order, mask overlay), captured for its whole layer by one pre-fill in a worker.
 */
export function HeadPanel() {
  const current = usePatterns((s) => s.current);
  const selected = usePatterns((s) => s.selected);
  const videos = usePatterns((s) => s.videos);
  const video = usePatterns((s) => s.video);
  const setSettings = usePatterns((s) => s.setSettings);
  const capture = usePatterns((s) => s.capture);
  const captureLayer = usePatterns((s) => s.captureLayer);
  const cancel = usePatterns((s) => s.cancel);
  const [scale, setScale] = useState<ValueScale>('log');
  const [overlay, setOverlay] = useState(true);
  if (current.status !== 'ready') return null;
  const { layer, head } = selected;
  const entry = current.loaded.file.layers[layer]?.heads[head];
  const captured = capture.records.get(headKey(layer, head));
  const forThis = capture.key === `${current.loaded.path}|${video}|${layer}`;

  return (
    <section className="panel" aria-label="Head">
      <h2>
        Layer {layer}, head {head}
      </h2>
      {entry ? (
        <dl className="facts" data-testid="file-head">
          <dt>Pattern</dt>
          <dd data-testid="file-head-pattern">{patternLabels[entry.pattern]}</dd>
          <dt>Budgets</dt>
          <dd>{formatBudgets(entry) || 'none'}</dd>
          <dt title={figureHelp.calibrationRecall}>Recall at calibration</dt>
          <dd title={figureHelp.calibrationRecall}>
            {entry.calibration
              ? `${formatRecall(entry.calibration.recall)} (density ${formatDensity(entry.calibration.density)}, cost ${entry.calibration.cost.toFixed(3)})`
              : 'not measured (a hand-written file)'}
          </dd>
        </dl>
      ) : null}
      <div className="row">
        <label>
          Video{' '}
          <select
            value={video ?? ''}
            aria-label="Video for heatmaps and comparisons"
            onChange={(e) => setSettings({ video: e.target.value || null })}
          >
            {video === null ? <option value="">add a video in the search panel</option> : null}
            {videos.map((v) => (
              <option key={v} value={v}>
                {baseName(v)}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          onClick={() => void captureLayer()}
          disabled={video === null || isBusy(capture.status) || (forThis && capture.status === 'done')}
        >
          {forThis && capture.status === 'done' ? 'Captured' : `Capture layer ${layer}`}
        </button>
        {isBusy(capture.status) ? (
          <button type="button" className="secondary" onClick={() => void cancel(capture.jobId)}>
            Cancel
          </button>
        ) : null}
        <label>
          Scale{' '}
          <select
            value={scale}
            aria-label="Colour scale"
            onChange={(e) => setScale(e.target.value === 'linear' ? 'linear' : 'log')}
          >
            <option value="log">log</option>
            <option value="linear">linear</option>
          </select>
        </label>
        <label>
          <input type="checkbox" checked={overlay} onChange={(e) => setOverlay(e.target.checked)} /> Mask
          overlay
        </label>
      </div>
      {isBusy(capture.status) ? (
        <p role="status" data-testid="capture-status">
          {capture.progress ? stageText(capture.progress) : 'Starting the capture…'}
        </p>
      ) : null}
      {capture.error && forThis ? <ErrorMessage title="Heatmaps" error={capture.error} /> : null}
      {captured && forThis ? (
        <>
          <p className="muted">
            {baseName(video ?? '')}: {capture.promptTokens} prompt tokens, every pattern applied at this
            length.
          </p>
          <HeadMaps record={captured.record} scale={scale} overlay={overlay} />
          <div className="row">
            {[false, true].map((permuted) => (
              <button
                key={String(permuted)}
                type="button"
                className="secondary"
                onClick={() =>
                  void downloadPng(
                    heatmapFileName(layer, head, permuted, overlay),
                    heatmapImage(captured.record, { permuted, overlay, scale }),
                  )
                }
              >
                {permuted ? 'Permuted' : 'Original'} PNG
              </button>
            ))}
          </div>
          <HeadFacts layer={layer} head={head} report={captured.report} record={captured.record} />
        </>
      ) : video === null ? (
        <p className="muted">
          Add a video in the search panel to see this head&apos;s attention under the file.
        </p>
      ) : !isBusy(capture.status) ? (
        <p className="muted" data-testid="capture-missing">
          No heatmap of this head yet: capture its layer.
        </p>
      ) : null}
    </section>
  );
}
