import { decodeF32, type HeatmapEvent, type PatternName } from '../contract/engine.js';

// One head's captured heatmap with its grids decoded from the event's base64 (the renderer's captures, the exported
// figures).

export interface HeatmapRecord {
  layer: number;
  head: number;
  pattern: PatternName;
  grid: number;
  tokens: number;
  mass: Float32Array;
  massPermuted: Float32Array;
  mask: Float32Array;
  maskPermuted: Float32Array;
  rowSamples: readonly number[];
  rowSamplesPermuted: readonly number[];
  recall: number;
  coverage: number;
  gridChoices: HeatmapEvent['gridChoices'];
}

/** The event's grids as floats; null when one of them is not G×G. */
export function decodeHeatmap(event: Omit<HeatmapEvent, 'jobId'>): HeatmapRecord | null {
  const cells = event.grid * event.grid;
  let grids: Float32Array[];
  try {
    grids = [event.mass, event.massPermuted, event.mask, event.maskPermuted].map(decodeF32);
  } catch {
    return null;
  }
  const [mass, massPermuted, mask, maskPermuted] = grids;
  if (!mass || !massPermuted || !mask || !maskPermuted || grids.some((g) => g.length !== cells)) return null;
  if (event.rowSamples.length !== event.grid || event.rowSamplesPermuted.length !== event.grid) return null;
  return {
    layer: event.layer,
    head: event.head,
    pattern: event.pattern,
    grid: event.grid,
    tokens: event.tokens,
    mass,
    massPermuted,
    mask,
    maskPermuted,
    rowSamples: event.rowSamples,
    rowSamplesPermuted: event.rowSamplesPermuted,
    recall: event.recall,
    coverage: event.coverage,
    gridChoices: event.gridChoices,
  };
}
