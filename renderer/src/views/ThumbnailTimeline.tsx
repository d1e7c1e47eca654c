import { thumbnailUrl } from '../../../app/contract/media.js';
import { thumbnailTimes } from '../../../app/domain/timeline.js';
import { useAppState, useBridge } from '../state/store-context.js';
import { formatDuration } from './format.js';

const thumbnailCount = 12;
const thumbnailHeight = 90;

/** Frames spread over the whole video; each is a plain image GET the services answer with a JPEG. */
export function ThumbnailTimeline() {
  const bridge = useBridge();
  const video = useAppState((s) => s.video);
  if (video.status !== 'ready') return null;
  const { meta } = video;
  return (
    <section className="panel" aria-label="Timeline">
      <h2>Timeline</h2>
      <ol className="timeline">
        {thumbnailTimes(meta.durationSec, thumbnailCount).map((t) => (
          <li key={`${meta.path}@${t}`}>
            <img
              src={bridge.resolveUrl(thumbnailUrl(meta.path, t, thumbnailHeight))}
              alt={`Frame at ${formatDuration(t)}`}
              height={thumbnailHeight}
              style={{ aspectRatio: `${meta.width} / ${meta.height}` }}
              loading="lazy"
            />
            <span>{formatDuration(t)}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
