import { useState, type FormEvent } from 'react';
import { toErrorData, type AppErrorData } from '../../../app/contract/errors.js';
import { useAppState, useBridge } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';
import { FileBrowser } from './FileBrowser.js';

/** Electron: the native dialog (and drops anywhere on the window). Browser: a path and a file browser. */
export function OpenVideo() {
  const bridge = useBridge();
  return (
    <section className="panel" aria-label="Open a video">
      <h2>Open a video</h2>
      {bridge.chooseVideo ? (
        <NativeOpen />
      ) : (
        <>
          <PathOpen />
          <FileBrowser />
        </>
      )}
    </section>
  );
}

function NativeOpen() {
  const bridge = useBridge();
  const openVideo = useAppState((s) => s.openVideo);
  const [error, setError] = useState<AppErrorData | null>(null);
  const choose = async () => {
    setError(null);
    try {
      const path = await bridge.chooseVideo?.();
      if (path) await openVideo(path);
    } catch (err) {
      setError(toErrorData(err));
    }
  };
  return (
    <>
      <button type="button" onClick={() => void choose()}>
        Open video…
      </button>
      <p className="muted">or drop a video file anywhere on the window.</p>
      {error ? <ErrorMessage error={error} /> : null}
    </>
  );
}

function PathOpen() {
  const openVideo = useAppState((s) => s.openVideo);
  const [path, setPath] = useState('');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const trimmed = path.trim();
    if (trimmed) void openVideo(trimmed);
  };
  return (
    <form className="path-open" onSubmit={submit}>
      <label htmlFor="video-path">Path on the server</label>
      <input
        id="video-path"
        type="text"
        value={path}
        placeholder="/path/to/video.mp4"
        spellCheck={false}
        onChange={(e) => setPath(e.target.value)}
      />
      <button type="submit" disabled={!path.trim()}>
        Open
      </button>
    </form>
  );
}
