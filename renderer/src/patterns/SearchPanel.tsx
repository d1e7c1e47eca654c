import { useState } from 'react';
import { toErrorData, type AppErrorData } from '../../../app/contract/errors.js';
import type { PatternProgress } from '../../../app/contract/patterns.js';
import { shortPromptCostTarget } from '../../../app/domain/pattern-candidates.js';
import { defaultSamplingOptions } from '../../../app/domain/sampling.js';
import { useAppState, useBridge } from '../state/store-context.js';
import { ErrorMessage } from '../views/ErrorMessage.js';
import { FolderBrowser } from '../views/FileBrowser.js';
import { formatCount } from '../views/format.js';
import { isBusy, usePatterns } from './use-patterns.js';

const isPatternFile = (path: string): boolean => /\.json$/i.test(path);
const baseName = (path: string): string => path.split(/[\\/]/).pop() ?? path;

export function stageText(p: PatternProgress): string {
  const of = `${formatCount(p.done)}${p.total === null ? '' : ` / ${formatCount(p.total)}`}`;
  switch (p.stage) {
    case 'queued':
      return 'Waiting for the worker…';
    case 'load':
      return 'Loading the model…';
    case 'video':
      return `Decoding ${p.item ?? 'the video'}: ${of} frames`;
    case 'vision':
      return `Encoding ${p.item ?? 'the video'}: ${of} temporal patches`;
    case 'search':
      return p.layer !== undefined && p.video !== undefined && p.layers && p.videos && p.done > 0
        ? `Scored layer ${p.layer + 1} of ${p.layers} on video ${p.video + 1} of ${p.videos} (${of} units)`
        : `Scoring: ${of} (video, layer) units`;
    case 'prefill':
      return `${p.item ? `${p.item}: ` : ''}pre-fill, layer ${of}`;
    case 'decode':
      return `${p.item ? `${p.item}: ` : ''}answer, ${of} tokens`;
  }
}

/** Where calibration videos come from: the allowed folders (web host), or the native dialog (desktop). */
function VideoSource() {
  const bridge = useBridge();
  const browser = useAppState((s) => s.browser);
  const browse = useAppState((s) => s.browse);
  const addVideo = usePatterns((s) => s.addVideo);
  const loadFile = usePatterns((s) => s.loadFile);
  const [error, setError] = useState<AppErrorData | null>(null);
  if (bridge.chooseVideo) {
    const choose = async () => {
      setError(null);
      try {
        const path = await bridge.chooseVideo?.();
        if (path) addVideo(path);
      } catch (err) {
        setError(toErrorData(err));
      }
    };
    return (
      <>
        <button type="button" onClick={() => void choose()}>
          Add a video…
        </button>
        {error ? <ErrorMessage error={error} /> : null}
      </>
    );
  }
  return (
    <FolderBrowser
      label="Calibration files"
      state={browser}
      browse={browse}
      onFile={(path) => (isPatternFile(path) ? loadFile(path) : addVideo(path))}
    />
  );
}

/** The search's units as a video × layer matrix, filled as each is scored. */
function LayerProgress(props: { scored: boolean[][]; layers: number | undefined; videos: string[] }) {
  const { scored, layers, videos } = props;
  if (!layers) return null;
  return (
    <table className="layer-progress" aria-label="Layers scored per video">
      <tbody>
        {videos.map((video, v) => (
          <tr key={video}>
            <th scope="row" className="muted" title={video}>
              {baseName(video)}
            </th>
            {Array.from({ length: layers }, (_, l) => (
              <td
                key={l}
                className={scored[v]?.[l] ? 'scored' : ''}
                title={`layer ${l}${scored[v]?.[l] ? ': scored' : ''}`}
                data-testid={`scored-${v}-${l}`}
              />
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Choose calibration videos and settings, start the search, watch it layer by layer, cancel it. */
export function SearchPanel() {
  const model = useAppState((s) => s.model);
  const videos = usePatterns((s) => s.videos);
  const removeVideo = usePatterns((s) => s.removeVideo);
  const candidates = usePatterns((s) => s.candidates);
  const costTarget = usePatterns((s) => s.costTarget);
  const fps = usePatterns((s) => s.fps);
  const setSettings = usePatterns((s) => s.setSettings);
  const search = usePatterns((s) => s.search);
  const startSearch = usePatterns((s) => s.startSearch);
  const cancel = usePatterns((s) => s.cancel);
  const busy = isBusy(search.status);
  const progress = search.progress;
  const searchedVideos = search.started?.plans.map((_, i) => videos[i] ?? `video ${i + 1}`) ?? videos;

  return (
    <section className="panel" aria-label="Pattern search">
      <h2>Pattern search</h2>
      <p className="muted">
        Finds each attention head&apos;s sparse pattern on calibration videos: the model runs dense, and every
        candidate pattern is scored by the attention it keeps against the kernel tiles it costs.
        {model.status === 'ready' ? (
          <>
            {' '}
            Model:{' '}
            <strong title={model.choice.dir}>
              {model.choice.embedded ? 'the bundled demo model' : baseName(model.choice.dir)}
            </strong>
            .
          </>
        ) : null}
      </p>
      <VideoSource />
      <h3 className="subheading">Calibration videos</h3>
      {videos.length === 0 ? (
        <p className="muted">None yet: add one or more videos.</p>
      ) : (
        <ul className="chosen-videos" aria-label="Calibration videos">
          {videos.map((v) => (
            <li key={v}>
              <span title={v}>{baseName(v)}</span>{' '}
              <button type="button" className="link" onClick={() => removeVideo(v)} disabled={busy}>
                remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="form-grid">
        <label htmlFor="patterns-candidates">Candidates</label>
        <select
          id="patterns-candidates"
          value={candidates}
          onChange={(e) => setSettings({ candidates: e.target.value === 'short' ? 'short' : 'default' })}
        >
          <option value="default">default (prompts of 16K tokens and more)</option>
          <option value="short">short prompts (1K–4K tokens)</option>
        </select>
        <label htmlFor="patterns-cost-target">Cost target</label>
        <input
          id="patterns-cost-target"
          type="number"
          min={0}
          max={1}
          step={0.01}
          value={costTarget}
          placeholder={candidates === 'short' ? String(shortPromptCostTarget) : '0.1'}
          onChange={(e) => setSettings({ costTarget: e.target.value })}
        />
        <label htmlFor="patterns-fps">Frames per second</label>
        <input
          id="patterns-fps"
          type="number"
          min={0.05}
          max={60}
          step={0.05}
          value={fps}
          placeholder={String(defaultSamplingOptions.fps)}
          onChange={(e) => setSettings({ fps: e.target.value })}
        />
      </div>
      <div className="row">
        <button type="button" onClick={() => void startSearch()} disabled={busy || videos.length === 0}>
          Start search
        </button>
        {busy ? (
          <button
            type="button"
            className="secondary"
            onClick={() => void cancel(search.jobId)}
            disabled={search.status !== 'running'}
          >
            Cancel
          </button>
        ) : null}
      </div>
      {search.status !== 'idle' ? (
        <div className="search-progress">
          <p role="status" data-testid="search-status">
            {search.status === 'starting'
              ? 'Starting…'
              : search.status === 'cancelling'
                ? 'Cancelling…'
                : search.status === 'cancelled'
                  ? `Cancelled: what finished is kept in ${search.started?.checkpoint ?? 'the checkpoint'}.`
                  : search.status === 'done' && search.outcome
                    ? `Done in ${(search.outcome.elapsedMs / 1000).toFixed(1)} s: ${baseName(search.outcome.out)}`
                    : search.status === 'failed'
                      ? 'The search failed.'
                      : progress
                        ? stageText(progress)
                        : 'Running…'}
          </p>
          {progress?.stage === 'search' && progress.total ? (
            <progress max={progress.total} value={progress.done} aria-label="Units scored" />
          ) : null}
          <LayerProgress scored={search.scored} layers={progress?.layers} videos={searchedVideos} />
          {search.error ? <ErrorMessage title="Search" error={search.error} /> : null}
        </div>
      ) : null}
    </section>
  );
}
