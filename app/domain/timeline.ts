// Where the timeline's thumbnails sit: `count` frames at the middle of equal slices of the video, so the first
// and last never fall on the very edges (often black, or past the last frame).
export function thumbnailTimes(durationSec: number, count: number): number[] {
  if (!(durationSec > 0) || count < 1) return [];
  const slice = durationSec / count;
  return Array.from({ length: count }, (_, i) => (i + 0.5) * slice);
}
