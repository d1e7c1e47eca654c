import { useState } from 'react';
import { comparisonCsv, runsCsv } from '../../../app/domain/pattern-compare.js';
import { ErrorMessage } from '../views/ErrorMessage.js';
import { downloadText } from './downloads.js';
import { stageText } from './SearchPanel.js';
import { isBusy, usePatterns } from './use-patterns.js';

const baseName = (path: string): string => path.split(/[\\/]/).pop() ?? path;
const ms = (v: number | null): string => (v === null ? '—' : `${v.toFixed(0)} ms`);
const num = (v: number | null): string => (v === null ? '—' : v.toFixed(3));

/** The loaded file against dense attention or another file, on the chosen video. */
export function ComparePanel() {
  const current = usePatterns((s) => s.current);
  const files = usePatterns((s) => s.files);
  const video = usePatterns((s) => s.video);
  const compare = usePatterns((s) => s.compare);
  const startCompare = usePatterns((s) => s.startCompare);
  const cancel = usePatterns((s) => s.cancel);
  const [other, setOther] = useState('');
  if (current.status !== 'ready') return null;
  const result = compare.result;
  const others = files.list.filter((f) => f.path !== current.loaded.path && f.summary !== null);

  return (
    <section className="panel" aria-label="Compare">
      <h2>Compare</h2>
      <div className="row">
        <label>
          Against{' '}
          <select value={other} aria-label="Compare against" onChange={(e) => setOther(e.target.value)}>
            <option value="">dense attention</option>
            {others.map((f) => (
              <option key={f.path} value={f.path}>
                {f.name}
              </option>
            ))}
          </select>
        </label>
        <button
          type="button"
          onClick={() => void startCompare(other || null)}
          disabled={video === null || isBusy(compare.status)}
        >
          Compare on {video === null ? 'a video' : baseName(video)}
        </button>
        {isBusy(compare.status) ? (
          <button type="button" className="secondary" onClick={() => void cancel(compare.jobId)}>
            Cancel
          </button>
        ) : null}
      </div>
      {isBusy(compare.status) ? (
        <p role="status">{compare.progress ? stageText(compare.progress) : 'Starting…'}</p>
      ) : null}
      {compare.error ? <ErrorMessage title="Comparison" error={compare.error} /> : null}
      {result ? (
        <>
          <table className="compare-runs" data-testid="compare-runs">
            <thead>
              <tr>
                <th scope="col">run</th>
                <th scope="col">pre-fill</th>
                <th scope="col">predicted</th>
                <th scope="col">density</th>
                <th scope="col">mean recall</th>
                <th scope="col">answer</th>
              </tr>
            </thead>
            <tbody>
              {result.runs.map((r) => (
                <tr key={r.run}>
                  <th scope="row">{r.patterns === null ? 'dense' : baseName(r.patterns)}</th>
                  <td>{ms(r.prefillMs)}</td>
                  <td>{ms(r.predictedMs)}</td>
                  <td>{num(r.density)}</td>
                  <td>{num(r.meanRecall)}</td>
                  <td className="answer">{r.answer}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p data-testid="compare-agreement">
            Answers agree on {result.agreement.prefix} tokens from the start, {result.agreement.matching} of{' '}
            {result.agreement.total} positions;{' '}
            {result.heads.filter((h) => h.a.applied !== h.b.applied).length} of {result.heads.length} heads
            run another pattern. {result.promptTokens} prompt tokens.
          </p>
          <div className="row">
            <button
              type="button"
              className="secondary"
              onClick={() => downloadText('compare-heads.csv', comparisonCsv(result), 'text/csv')}
            >
              Heads CSV
            </button>
            <button
              type="button"
              className="secondary"
              onClick={() => downloadText('compare-runs.csv', runsCsv(result), 'text/csv')}
            >
              Runs CSV
            </button>
          </div>
        </>
      ) : null}
    </section>
  );
}
