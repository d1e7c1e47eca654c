import { describe, expect, it } from 'vitest';
import {
  domainFor,
  formatValue,
  logDecades,
  rampIndex,
  rampPosition,
  valueAt,
} from '../../../../../renderer/src/heatmap/colour-scale.js';
import { maxOf, paintHeatmap } from '../../../../../renderer/src/heatmap/paint.js';

// Viridis as matplotlib publishes it: its first and last colours.
const viridisFirst = [0x44, 0x01, 0x54];
const viridisLast = [0xfd, 0xe7, 0x25];

function pixel(pixels: Uint8ClampedArray, grid: number, row: number, col: number): number[] {
  const o = (row * grid + col) * 4;
  return Array.from(pixels.subarray(o, o + 4));
}

describe('colour scale', () => {
  it('spans the given decades on the log scale and the full range on the linear one', () => {
    const log = domainFor('log', 0.5);
    expect(log).toEqual({ scale: 'log', min: 0.5 / 10 ** logDecades, max: 0.5 });
    if (!log) throw new Error('no domain');
    expect(rampPosition(0.5, log)).toBe(1);
    expect(rampPosition(0.5e-2, log)).toBeCloseTo(0.5, 12);
    expect(rampPosition(1e-9, log)).toBe(0);
    expect(valueAt(0.5, log)).toBeCloseTo(0.005, 12);
    const linear = domainFor('linear', 2);
    if (!linear) throw new Error('no domain');
    expect(rampPosition(0.5, linear)).toBe(0.25);
    expect(rampIndex(2, linear)).toBe(255);
    expect(domainFor('log', 0)).toBeNull();
    expect(domainFor('linear', Number.NaN)).toBeNull();
  });

  it('labels values briefly', () => {
    expect([0, 0.82, 0.1, 1, 0.0031, 2.1e-5].map(formatValue)).toEqual([
      '0',
      '0.82',
      '0.1',
      '1',
      '3.1e-3',
      '2.1e-5',
    ]);
  });
});

describe('painting a heatmap', () => {
  const grid = 3;
  // Causal: row r holds mass in columns 0…r; row 1 had no sampled query.
  const mass = Float32Array.from([1, 0, 0, 0, 0, 0, 0.5, 0.25, 0.25]);
  const rowSamples = [1, 0, 2];

  it('colours cells by value, and leaves empty cells and unsampled rows transparent', () => {
    const domain = domainFor('linear', maxOf(mass));
    const pixels = paintHeatmap({ grid, mass, mask: null, rowSamples, domain });
    expect(pixel(pixels, grid, 0, 0)).toEqual([...viridisLast, 255]);
    expect(pixel(pixels, grid, 0, 1)).toEqual([0, 0, 0, 0]);
    expect(pixel(pixels, grid, 1, 0)).toEqual([0, 0, 0, 0]);
    // 0.25 of the way up a linear 0…1 ramp: darker than 0.5, which is darker than 1.
    const brightness = (p: number[]) => (p[0] ?? 0) + (p[1] ?? 0) + (p[2] ?? 0);
    expect(brightness(pixel(pixels, grid, 2, 1))).toBeLessThan(brightness(pixel(pixels, grid, 2, 0)));
    expect(brightness(pixel(pixels, grid, 2, 0))).toBeLessThan(brightness(pixel(pixels, grid, 0, 0)));
    // The lowest non-zero value on the log scale takes the ramp's first colour.
    const tiny = Float32Array.from([1, 0, 0, 0, 0, 0, 1e-6, 0, 0]);
    const logPixels = paintHeatmap({ grid, mass: tiny, mask: null, rowSamples, domain: domainFor('log', 1) });
    expect(pixel(logPixels, grid, 2, 0)).toEqual([...viridisFirst, 255]);
  });

  it('greys out what the mask drops, in proportion to the share dropped', () => {
    const domain = domainFor('linear', 1);
    const mask = Float32Array.from([0, 0, 0, 0, 0, 0, 1, 0.5, 0]);
    const pixels = paintHeatmap({ grid, mass, mask, rowSamples, domain });
    const plain = paintHeatmap({ grid, mass, mask: null, rowSamples, domain });
    // Kept whole: unchanged.
    expect(pixel(pixels, grid, 2, 0)).toEqual(pixel(plain, grid, 2, 0));
    // Dropped: grey of the same brightness (Rec. 709 luminance).
    const [r, g, b] = pixel(plain, grid, 2, 2) as [number, number, number];
    const grey = Math.round(0.2126 * r + 0.7152 * g + 0.0722 * b);
    expect(pixel(pixels, grid, 2, 2)).toEqual([grey, grey, grey, 255]);
    const lastGrey = Math.round(0.2126 * 0xfd + 0.7152 * 0xe7 + 0.0722 * 0x25);
    expect(pixel(pixels, grid, 0, 0)).toEqual([lastGrey, lastGrey, lastGrey, 255]);
    // Half kept: half way between colour and grey.
    const [r2, g2, b2] = pixel(plain, grid, 2, 1) as [number, number, number];
    const grey2 = 0.2126 * r2 + 0.7152 * g2 + 0.0722 * b2;
    const half = pixel(pixels, grid, 2, 1);
    [r2, g2, b2].forEach((c, i) =>
      expect(Math.abs((half[i] ?? 0) - (c + grey2) / 2)).toBeLessThanOrEqual(0.5),
    );
  });

  it('paints nothing without a positive value, and refuses grids of the wrong size', () => {
    const empty = paintHeatmap({ grid, mass: new Float32Array(9), mask: null, rowSamples, domain: null });
    expect(empty.every((v) => v === 0)).toBe(true);
    expect(() =>
      paintHeatmap({ grid: 4, mass, mask: null, rowSamples, domain: domainFor('log', 1) }),
    ).toThrow(RangeError);
  });
});
