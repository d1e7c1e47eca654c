import { ramp, rampIndex, type ScaleDomain } from './heatmap-colour-scale.js';

// One heatmap as RGBA pixels, one pixel per cell (the canvas scales it up without smoothing). Pure, so what a
// cell looks like is tested without a canvas.
//
//  - A cell with attention mass takes the ramp's colour for its value.
//  - With the mask overlay, the share of the cell the mask drops is shown in grey: a cell the mask keeps whole
//    keeps its colour, a dropped cell keeps only its brightness, so mass the mask misses stays visible.
//  - A cell with no mass (above the causal diagonal, or in a row bin no sampled query fell in) is transparent:
//    the canvas's own background says "nothing here".

export interface PaintInput {
  /** G: the map is G×G, row-major (row bin × key bin). */
  grid: number;
  mass: Float32Array;
  /** Share of each cell the mask keeps (0…1), or null for no overlay. */
  mask: Float32Array | null;
  /** Sampled queries per row bin; rows without one hold no data. */
  rowSamples: readonly number[];
  domain: ScaleDomain | null;
}

/** Brightness of an RGB colour (Rec. 709 weights), for the grey of dropped cells. */
function luminance(r: number, g: number, b: number): number {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function paintHeatmap(input: PaintInput): Uint8ClampedArray<ArrayBuffer> {
  const { grid, mass, mask, rowSamples, domain } = input;
  const cells = grid * grid;
  if (mass.length !== cells || (mask !== null && mask.length !== cells)) {
    throw new RangeError(`a ${grid}×${grid} heatmap needs ${cells} values per grid`);
  }
  const out = new Uint8ClampedArray(new ArrayBuffer(cells * 4));
  if (domain === null) return out;
  for (let row = 0; row < grid; row++) {
    if ((rowSamples[row] ?? 0) === 0) continue;
    for (let col = 0; col < grid; col++) {
      const cell = row * grid + col;
      const value = mass[cell] ?? 0;
      if (!(value > 0)) continue;
      const i = rampIndex(value, domain) * 3;
      let r = ramp[i] ?? 0;
      let g = ramp[i + 1] ?? 0;
      let b = ramp[i + 2] ?? 0;
      if (mask !== null) {
        const kept = Math.min(1, Math.max(0, mask[cell] ?? 0));
        const grey = luminance(r, g, b);
        r = r * kept + grey * (1 - kept);
        g = g * kept + grey * (1 - kept);
        b = b * kept + grey * (1 - kept);
      }
      const o = cell * 4;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = 255;
    }
  }
  return out;
}

/** The largest value of the given grids (the shared top of the scale for side-by-side views). */
export function maxOf(...grids: Float32Array[]): number {
  let max = 0;
  for (const values of grids) for (const v of values) if (v > max) max = v;
  return max;
}
