import { useEffect } from 'react';
import type { BrowserState } from '../state/folders.js';
import { useAppState } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';
import { formatBytes } from './format.js';

/** Web host only: videos inside the roots `mmi serve` was given; the services refuse anything outside them. */
export function FileBrowser() {
  const browser = useAppState((s) => s.browser);
  const browse = useAppState((s) => s.browse);
  const openVideo = useAppState((s) => s.openVideo);
  return <FolderBrowser label="File browser" state={browser} browse={browse} onFile={openVideo} />;
}

/**
 * A listing of the allowed folders: folders open on click; files call `onFile` when given (else they are only
 * shown), and `onChooseFolder`, when given, offers the folder being shown.
 */
export function FolderBrowser(props: {
  label: string;
  state: BrowserState;
  browse: (dir?: string) => Promise<void>;
  onFile?: (path: string) => void | Promise<void>;
  onChooseFolder?: (dir: string) => void;
}) {
  const { state, browse, onFile, onChooseFolder } = props;

  useEffect(() => {
    if (state.status === 'idle') void browse();
  }, [state.status, browse]);

  if (state.status === 'idle' || state.status === 'loading') return <p role="status">Listing…</p>;
  if (state.status === 'failed') {
    return (
      <>
        <ErrorMessage
          title={state.dir ? `Could not list ${state.dir}` : 'Could not list the roots'}
          error={state.error}
        />
        <button type="button" className="secondary" onClick={() => void browse()}>
          Back to the roots
        </button>
      </>
    );
  }
  const { listing } = state;
  return (
    <div className="file-browser" aria-label={props.label} role="region">
      <div className="row">
        <span className="current-dir" title={listing.dir ?? 'Allowed folders'}>
          {listing.dir ?? 'Allowed folders'}
        </span>
        {listing.parent !== null ? (
          <button
            type="button"
            className="secondary"
            onClick={() => void browse(listing.parent ?? undefined)}
          >
            Up
          </button>
        ) : null}
        {listing.dir !== null && listing.roots.length > 1 ? (
          <button type="button" className="secondary" onClick={() => void browse()}>
            Roots
          </button>
        ) : null}
        {onChooseFolder && listing.dir !== null ? (
          <button type="button" onClick={() => onChooseFolder(listing.dir ?? '')}>
            Use this folder
          </button>
        ) : null}
      </div>
      {listing.entries.length === 0 ? <p className="muted">Empty.</p> : null}
      <ul className="entries">
        {listing.entries.map((entry) => (
          <li key={entry.path} className={entry.kind === 'dir' ? 'dir' : entry.video ? 'video' : 'other'}>
            {entry.kind === 'dir' || onFile ? (
              <button
                type="button"
                className="link"
                title={entry.path}
                onClick={() => void (entry.kind === 'dir' ? browse(entry.path) : onFile?.(entry.path))}
              >
                {entry.kind === 'dir' ? `${entry.name}/` : entry.name}
              </button>
            ) : (
              <span className="muted">{entry.name}</span>
            )}
            {entry.sizeBytes !== null ? <span className="muted"> {formatBytes(entry.sizeBytes)}</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}
