import { useEffect, useState, type ChangeEvent } from 'react';
import { toErrorData, type AppErrorData } from '../../../app/contract/errors.js';
import type { PatternFileEntry } from '../../../app/contract/patterns.js';
import { formatCounts } from '../../../app/domain/pattern-summary.js';
import { useBridge } from '../state/store-context.js';
import { ErrorMessage } from '../views/ErrorMessage.js';
import { usePatterns } from './use-patterns.js';

/** The desktop app opens a pattern file through the file picker (main allows exactly the file chosen). */
function OpenFile() {
  const bridge = useBridge();
  const loadFile = usePatterns((s) => s.loadFile);
  const [error, setError] = useState<AppErrorData | null>(null);
  if (!bridge.allowDroppedFile) return null;
  const onChange = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setError(null);
    try {
      const path = await bridge.allowDroppedFile?.(file);
      if (path) await loadFile(path);
    } catch (err) {
      setError(toErrorData(err));
    }
  };
  return (
    <>
      <label className="file-input">
        Open a pattern file…{' '}
        <input type="file" accept=".json,application/json" onChange={(e) => void onChange(e)} />
      </label>
      {error ? <ErrorMessage error={error} /> : null}
    </>
  );
}

function FileEntry(props: { entry: PatternFileEntry; onOpen: (path: string) => void }) {
  const { entry: f, onOpen } = props;
  return (
    <>
      <button type="button" className="link" title={f.path} onClick={() => onOpen(f.path)}>
        {f.name}
      </button>
      <span className="muted">
        {' '}
        {f.summary
          ? `${f.summary.family} ${f.summary.layers}×${f.summary.heads}: ${formatCounts(f.summary.counts)}`
          : f.problem}
      </span>
    </>
  );
}

/**
 * The file questions are pre-filled with now, then the app's pattern folder (searches made here), newest first;
 * any other file opens from the browser above.
 */
export function FilesPanel() {
  const files = usePatterns((s) => s.files);
  const refreshFiles = usePatterns((s) => s.refreshFiles);
  const loadFile = usePatterns((s) => s.loadFile);
  const current = usePatterns((s) => s.current);
  const open = (path: string) => void loadFile(path);

  useEffect(() => {
    if (files.status === 'idle') void refreshFiles();
  }, [files.status, refreshFiles]);

  return (
    <section className="panel" aria-label="Pattern files">
      <h2>Pattern files</h2>
      <div className="row">
        <button type="button" className="secondary" onClick={() => void refreshFiles()}>
          Refresh
        </button>
        <OpenFile />
      </div>
      {files.error ? <ErrorMessage title="Pattern folder" error={files.error} /> : null}
      {files.status === 'ready' ? (
        <>
          <h3>Used by questions now</h3>
          {files.inUse ? (
            <p className="pattern-files" data-testid="pattern-file-in-use">
              <FileEntry entry={files.inUse} onOpen={open} />
            </p>
          ) : (
            <p className="muted">None: the current model pre-fills with dense attention.</p>
          )}
          <h3>Searches made here</h3>
          {files.list.length === 0 ? (
            <p className="muted">None yet. Files in the allowed folders open from the browser above.</p>
          ) : null}
        </>
      ) : null}
      <ul className="pattern-files">
        {files.list.map((f) => (
          <li key={f.path}>
            <FileEntry entry={f} onOpen={open} />
          </li>
        ))}
      </ul>
      {current.status === 'loading' ? <p role="status">Reading {current.path}…</p> : null}
      {current.status === 'failed' ? (
        <ErrorMessage title={`Could not read ${current.path}`} error={current.error} />
      ) : null}
    </section>
  );
}
