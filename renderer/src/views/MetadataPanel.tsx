import { useAppState } from '../state/store-context.js';
import { formatBytes, formatDuration } from './format.js';
import { ErrorMessage } from './ErrorMessage.js';

export function MetadataPanel() {
  const video = useAppState((s) => s.video);
  const opening = useAppState((s) => s.opening);
  return (
    <section className="panel" aria-label="Video metadata">
      <h2>Video</h2>
      {opening.status === 'probing' ? <p role="status">Reading {opening.path}…</p> : null}
      {opening.status === 'failed' ? (
        <ErrorMessage
          title={`Could not open ${opening.path}`}
          error={opening.error}
          after={
            video.status === 'ready'
              ? `${video.meta.path.split(/[\\/]/).pop() ?? video.meta.path} is still open.`
              : 'No video is open.'
          }
        />
      ) : null}
      {video.status === 'empty' && opening.status !== 'failed' ? (
        <p className="muted">No video open.</p>
      ) : null}
      {video.status === 'ready' ? (
        <dl className="facts">
          <dt>File</dt>
          <dd title={video.meta.path}>{video.meta.path}</dd>
          <dt>Duration</dt>
          <dd data-testid="meta-duration">{formatDuration(video.meta.durationSec)}</dd>
          <dt>Resolution</dt>
          <dd data-testid="meta-resolution">
            {video.meta.width}×{video.meta.height}
            {video.meta.rotation !== 0 ? ` (rotated ${video.meta.rotation}°)` : ''}
          </dd>
          <dt>Frame rate</dt>
          <dd data-testid="meta-fps">
            {video.meta.fps.toFixed(3).replace(/\.?0+$/, '')} fps
            {video.meta.variableFrameRate ? ' (variable)' : ''}
          </dd>
          <dt>Codec</dt>
          <dd data-testid="meta-codec">{video.meta.codec}</dd>
          <dt>Container</dt>
          <dd>{video.meta.container}</dd>
          <dt>Frames</dt>
          <dd>{video.meta.frameCount ?? 'unknown'}</dd>
          <dt>Size</dt>
          <dd>{formatBytes(video.meta.sizeBytes)}</dd>
          <dt>Streams</dt>
          <dd>{video.meta.streams.map((s) => `${s.type} ${s.codec}`).join(', ')}</dd>
        </dl>
      ) : null}
    </section>
  );
}
