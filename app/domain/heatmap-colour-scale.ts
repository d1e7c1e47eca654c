import { interpolateViridis } from 'd3-scale-chromatic';

// How attention mass becomes a colour. Mass spans orders of magnitude (a sink column holds most of a row, the rest
// is spread thin), so the default scale is logarithmic over a fixed number of decades below the largest value.

export type ValueScale = 'log' | 'linear';

/** Decades shown by the log scale; smaller non-zero values take the lowest colour. */
export const logDecades = 4;

export interface ScaleDomain {
  scale: ValueScale;
  /** The value at the lowest colour (> 0 for the log scale). */
  min: number;
  /** The value at the highest colour. */
  max: number;
}

/** The domain that shows values up to `max`; null when there is nothing to show (no positive value). */
export function domainFor(scale: ValueScale, max: number): ScaleDomain | null {
  if (!(max > 0) || !Number.isFinite(max)) return null;
  return scale === 'log' ? { scale, min: max / 10 ** logDecades, max } : { scale, min: 0, max };
}

/** Position of a value on the colour ramp, 0…1 (clamped). */
export function rampPosition(value: number, domain: ScaleDomain): number {
  const t =
    domain.scale === 'log'
      ? Math.log(Math.max(value, domain.min) / domain.min) / Math.log(domain.max / domain.min)
      : (value - domain.min) / (domain.max - domain.min);
  return Math.min(1, Math.max(0, t));
}

/** The value at a ramp position (the inverse of rampPosition inside the domain), for legend ticks. */
export function valueAt(position: number, domain: ScaleDomain): number {
  return domain.scale === 'log'
    ? domain.min * (domain.max / domain.min) ** position
    : domain.min + position * (domain.max - domain.min);
}

export const lutSize = 256;

/** The colour ramp as RGB bytes, `lutSize` entries, built once. */
export const ramp: Uint8Array = buildRamp();

function buildRamp(): Uint8Array {
  const out = new Uint8Array(lutSize * 3);
  for (let i = 0; i < lutSize; i++) {
    const hex = interpolateViridis(i / (lutSize - 1));
    out[i * 3] = Number.parseInt(hex.slice(1, 3), 16);
    out[i * 3 + 1] = Number.parseInt(hex.slice(3, 5), 16);
    out[i * 3 + 2] = Number.parseInt(hex.slice(5, 7), 16);
  }
  return out;
}

/** Ramp index for a value (0…lutSize−1). */
export function rampIndex(value: number, domain: ScaleDomain): number {
  return Math.round(rampPosition(value, domain) * (lutSize - 1));
}

/** A value as a short label: 0.82, 0.031, 2.1e-5. */
export function formatValue(value: number): string {
  if (value === 0) return '0';
  if (value >= 0.01) return value.toPrecision(2).replace(/\.?0+$/, '');
  return value.toExponential(1);
}
