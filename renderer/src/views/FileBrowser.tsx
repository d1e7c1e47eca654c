import { useEffect } from 'react';
import { useAppState } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';
import { formatBytes } from './format.js';

/** Web host only: folders inside the roots `mmi serve` was given; the services refuse anything outside them. */
export function FileBrowser() {
  const browser = useAppState((s) => s.browser);
  const browse = useAppState((s) => s.browse);
  const openVideo = useAppState((s) => s.openVideo);

  useEffect(() => {
    if (browser.status === 'idle') void browse();
  }, [browser.status, browse]);

  if (browser.status === 'idle' || browser.status === 'loading') return <p role="status">Listing…</p>;
  if (browser.status === 'failed') {
    return (
      <>
        <ErrorMessage
          title={browser.dir ? `Could not list ${browser.dir}` : 'Could not list the roots'}
          error={browser.error}
        />
        <button type="button" className="secondary" onClick={() => void browse()}>
          Back to the roots
        </button>
      </>
    );
  }
  const { listing } = browser;
  return (
    <div className="file-browser" aria-label="File browser" role="region">
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
      </div>
      {listing.entries.length === 0 ? <p className="muted">Empty.</p> : null}
      <ul className="entries">
        {listing.entries.map((entry) => (
          <li key={entry.path} className={entry.kind === 'dir' ? 'dir' : entry.video ? 'video' : 'other'}>
            <button
              type="button"
              className="link"
              title={entry.path}
              onClick={() => void (entry.kind === 'dir' ? browse(entry.path) : openVideo(entry.path))}
            >
              {entry.kind === 'dir' ? `${entry.name}/` : entry.name}
            </button>
            {entry.sizeBytes !== null ? <span className="muted"> {formatBytes(entry.sizeBytes)}</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}
