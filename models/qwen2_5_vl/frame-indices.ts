// Which frames qwen-vl-utils reads: torch.linspace(0, total - 1, count).round(). torch computes the linspace in
// float32 (each value one fused multiply-add from the nearer end: start + step·i for the first half, end −
// step·(count − 1 − i) for the second) and rounds halves to even. Long videos hit values within a float32
// rounding of .5, so the indices match the reference only when this arithmetic is reproduced exactly.

import { roundHalfEven } from '../../app/domain/sampling.js';

const f32 = Math.fround;

/** torch.linspace(0, total - 1, count, dtype=float32).round() as integers. */
export function linspaceFrameIndices(total: number, count: number): number[] {
  if (!Number.isInteger(total) || !Number.isInteger(count) || total < 1 || count < 1 || count > 1 << 24) {
    throw new RangeError(
      `frame indices need integer total >= 1 and count in [1, 2^24], got ${total}, ${count}`,
    );
  }
  if (count === 1) return [0];
  const end = f32(total - 1);
  const step = f32(end / (count - 1));
  const half = Math.floor(count / 2);
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    // step·i and end − step·j are exact in float64 here (at most 48 significant bits), so one fround is the
    // single rounding of torch's fused multiply-add.
    const v = i < half ? f32(step * i) : f32(end - step * (count - 1 - i));
    out[i] = roundHalfEven(v);
  }
  return out;
}
