import { createStore, type StoreApi } from 'zustand/vanilla';
import type { HeadReport, HeatmapEvent } from '../../../app/contract/engine.js';
import { decodeHeatmap, type HeatmapRecord } from '../../../app/domain/heatmap-record.js';
import { frameBatch, type FrameScheduler } from './frame-batch.js';

// What the engine reports per head while it pre-fills: the head reports and the heatmaps, per ask job. Grids are
// decoded once on arrival and kept out of React state (they are large and arrive fast); views subscribe to
// `version`, which moves at most once per frame, and read the records they show. Records and their decoding are in
// app/domain/heatmap-record.ts (the exported figures read captures too).

export { decodeHeatmap, type HeatmapRecord };

export interface JobCapture {
  heatmaps: Map<string, HeatmapRecord>;
  heads: Map<string, HeadReport>;
  /** The layer of the newest heatmap, for views that follow the pre-fill live. */
  lastLayer: number | null;
}

export interface Captures {
  /** Moves whenever a capture changed (at most once per frame). */
  readonly version: StoreApi<{ version: number }>;
  get(jobId: string): JobCapture | undefined;
  addHeatmap(event: HeatmapEvent): void;
  addHead(report: HeadReport): void;
  /** Applies what arrived since the last frame now. */
  flush(): void;
  clear(): void;
}

export function headKey(layer: number, head: number): string {
  return `${layer}:${head}`;
}

export function createCaptures(nextFrame: FrameScheduler): Captures {
  const jobs = new Map<string, JobCapture>();
  const version = createStore<{ version: number }>()(() => ({ version: 0 }));
  const bump = frameBatch(nextFrame, () => version.setState((s) => ({ version: s.version + 1 })));

  const captureOf = (jobId: string): JobCapture => {
    let capture = jobs.get(jobId);
    if (!capture) {
      capture = { heatmaps: new Map(), heads: new Map(), lastLayer: null };
      jobs.set(jobId, capture);
    }
    return capture;
  };

  return {
    version,
    get: (jobId) => jobs.get(jobId),
    addHeatmap(event) {
      const record = decodeHeatmap(event);
      if (record === null) {
        console.warn(
          `Ignoring the heatmap of layer ${event.layer} head ${event.head}: its grids are not ${event.grid}²`,
        );
        return;
      }
      const capture = captureOf(event.jobId);
      capture.heatmaps.set(headKey(event.layer, event.head), record);
      capture.lastLayer = event.layer;
      bump.schedule();
    },
    addHead(report) {
      captureOf(report.jobId).heads.set(headKey(report.layer, report.head), report);
      bump.schedule();
    },
    flush: () => bump.now(),
    clear() {
      jobs.clear();
      bump.now();
    },
  };
}
