/** Runs a function before the next paint. */
export type FrameScheduler = (apply: () => void) => void;

export const animationFrame: FrameScheduler = (apply) => void requestAnimationFrame(apply);

/**
 * Applies queued work at most once per frame: events that arrive hundreds of times a second (progress, tokens,
 * heatmaps) are collected by the caller and `flush` applies them together. `now()` applies them at once, e.g.
 * before a job's outcome so the last progress lands first.
 */
export function frameBatch(nextFrame: FrameScheduler, flush: () => void): { schedule(): void; now(): void } {
  let scheduled = false;
  const run = (): void => {
    if (!scheduled) return;
    scheduled = false;
    flush();
  };
  return {
    schedule() {
      if (scheduled) return;
      scheduled = true;
      nextFrame(run);
    },
    now() {
      scheduled = true;
      run();
    },
  };
}
