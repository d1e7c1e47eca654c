import { useEffect, useState } from 'react';
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
 * shown), and `onChooseFolder`, when given, offers the folder being shown. Where files are opened as videos,
 * folders and videos come first and other files stay behind a toggle, so a folder of logs does not bury them.
 */
export function FolderBrowser(props: {
  label: string;
  state: BrowserState;
  browse: (dir?: string) => Promise<void>;
  onFile?: (path: string) => void | Promise<void>;
  onChooseFolder?: (dir: string) => void;
}) {
  const { state, browse, onFile, onChooseFolder } = props;
  const [showOthers, setShowOthers] = useState(false);

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
  const isOther = (entry: (typeof listing.entries)[number]) => entry.kind !== 'dir' && !entry.video;
  const others = onFile ? listing.entries.filter(isOther).length : 0;
  const rank = (entry: (typeof listing.entries)[number]) => (entry.kind === 'dir' ? 0 : entry.video ? 1 : 2);
  const shown = onFile
    ? listing.entries
        .filter((entry) => showOthers || !isOther(entry))
        .sort((a, b) => rank(a) - rank(b) || a.name.localeCompare(b.name))
    : listing.entries;
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
      {onFile && listing.entries.length > 0 && others === listing.entries.length && !showOthers ? (
        <p className="muted">No videos or folders here.</p>
      ) : null}
      <ul className="entries">
        {shown.map((entry) => (
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
      {others > 0 ? (
        <button
          type="button"
          className="link"
          aria-expanded={showOthers}
          onClick={() => setShowOthers(!showOthers)}
        >
          {showOthers
            ? `Hide the ${others} other ${others === 1 ? 'file' : 'files'}`
            : `Show ${others} other ${others === 1 ? 'file' : 'files'} (not videos)`}
        </button>
      ) : null}
    </div>
  );
}
