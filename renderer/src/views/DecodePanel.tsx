import { useAppState } from '../state/store-context.js';
import { ErrorMessage } from './ErrorMessage.js';
import { formatBytes, formatCount } from './format.js';

/** Decoding runs as a job in the services: progress arrives as events, and it can be cancelled at any time. */
export function DecodePanel() {
  const video = useAppState((s) => s.video);
  const decode = useAppState((s) => s.decode);
  const startDecode = useAppState((s) => s.startDecode);
  const cancelDecode = useAppState((s) => s.cancelDecode);
  const busy = decode.status === 'starting' || decode.status === 'running' || decode.status === 'cancelling';

  return (
    <section className="panel" aria-label="Decode">
      <h2>Decode frames</h2>
      <div className="row">
        <button type="button" disabled={video.status !== 'ready' || busy} onClick={() => void startDecode()}>
          Decode
        </button>
        <button
          type="button"
          className="secondary"
          disabled={decode.status !== 'running'}
          onClick={() => void cancelDecode()}
        >
          Cancel
        </button>
      </div>
      {decode.status === 'starting' ? <p role="status">Starting…</p> : null}
      {decode.status === 'running' || decode.status === 'cancelling' ? (
        <div className="progress">
          <progress aria-label="Decode progress" max={Math.max(decode.total, 1)} value={decode.done} />
          <span role="status">
            {decode.status === 'cancelling' ? 'Cancelling… ' : ''}
            {formatCount(decode.done)} / {formatCount(decode.total)} frames
          </span>
        </div>
      ) : null}
      {decode.status === 'done' ? (
        <p role="status" data-testid="decode-result">
          Decoded {formatCount(decode.summary.frames)} frames at {decode.summary.width}×
          {decode.summary.height} ({formatBytes(decode.summary.bytes)}) in{' '}
          {decode.summary.elapsedSec.toFixed(1)} s.
        </p>
      ) : null}
      {decode.status === 'cancelled' ? (
        <p role="status" data-testid="decode-cancelled">
          Cancelled after {formatCount(decode.done)} of {formatCount(decode.total)} frames.
        </p>
      ) : null}
      {decode.status === 'failed' ? <ErrorMessage title="Decoding failed" error={decode.error} /> : null}
    </section>
  );
}
