// Independent float64 references for the addon tests: attention over an explicit key set, and the mask an
// exported sparse index describes (rendered here from its CSR lists, not by the engine).
import type { IndexHead, Tensor } from '../../native/index.js';

/** A deterministic fp32 tensor with values in [-1, 1). */
export function randomTensor(
  heads: number,
  tokens: number,
  dim: number,
  seed: number,
): Tensor & { dtype: 'f32' } {
  let s = seed >>> 0 || 1;
  const data = new Float32Array(heads * tokens * dim);
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    data[i] = (s >>> 0) / 2 ** 31 - 1;
  }
  return { dtype: 'f32', data, heads, tokens, dim };
}

/** Round-to-nearest-even fp32 -> bf16 bits. */
export function toBf16(t: Tensor & { dtype: 'f32' }): Tensor & { dtype: 'bf16' } {
  const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
  const out = new Uint16Array(t.data.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i]!;
    out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return { dtype: 'bf16', data: out, heads: t.heads, tokens: t.tokens, dim: t.dim };
}

/** The fp32 value of element (head, row, d). */
export function valueAt(t: Tensor, head: number, row: number, d: number): number {
  const i = (head * t.tokens + row) * t.dim + d;
  if (t.dtype === 'f32') return t.data[i]!;
  if (t.dtype === 'bf16') return new Float32Array(new Uint32Array([t.data[i]! << 16]).buffer)[0]!;
  throw new Error('f16 is not used by these tests');
}

/** keys(head, row): the original keys row `row` attends. Returns [Hq, N, D] float64 outputs. */
export function attentionF64(
  q: Tensor,
  k: Tensor,
  v: Tensor,
  keys: (head: number, row: number) => number[],
): Float64Array {
  const { heads, tokens, dim } = q;
  const group = heads / k.heads;
  const out = new Float64Array(heads * tokens * dim);
  for (let h = 0; h < heads; h++) {
    const g = Math.floor(h / group);
    for (let r = 0; r < tokens; r++) {
      const ks = keys(h, r);
      if (ks.length === 0) continue;
      const w = softmaxRow(q, k, h, g, r, ks);
      for (let j = 0; j < ks.length; j++) {
        for (let d = 0; d < dim; d++) out[(h * tokens + r) * dim + d]! += w[j]! * valueAt(v, g, ks[j]!, d);
      }
    }
  }
  return out;
}

export function softmaxRow(
  q: Tensor,
  k: Tensor,
  h: number,
  g: number,
  r: number,
  keys: number[],
): Float64Array {
  const w = new Float64Array(keys.length);
  let mx = -Infinity;
  for (let j = 0; j < keys.length; j++) {
    let s = 0;
    for (let d = 0; d < q.dim; d++) s += valueAt(q, h, r, d) * valueAt(k, g, keys[j]!, d);
    w[j] = s / Math.sqrt(q.dim);
    mx = Math.max(mx, w[j]!);
  }
  let sum = 0;
  for (let j = 0; j < w.length; j++) sum += w[j] = Math.exp(w[j]! - mx);
  for (let j = 0; j < w.length; j++) w[j]! /= sum;
  return w;
}

export const causalKeys = (_head: number, row: number): number[] =>
  Array.from({ length: row + 1 }, (_, i) => i);

/** The original keys each original row keeps under an exported index head (causal). */
export function renderIndex(head: IndexHead): number[][] {
  const n = head.tokens;
  const rowPerm = head.rowPerm ?? Int32Array.from({ length: n }, (_, i) => i);
  const colPerm = head.colPerm ?? Int32Array.from({ length: n }, (_, i) => i);
  const rows: number[][] = Array.from({ length: n }, () => []);
  for (let p = 0; p < n; p++) {
    const row = rowPerm[p]!;
    const qb = Math.floor(p / 64);
    const kept = new Set<number>();
    for (let j = Number(head.blockOffsets[qb]); j < Number(head.blockOffsets[qb + 1]); j++) {
      const b = head.blockIds[j]!;
      for (let c = b * 64; c < Math.min(n, b * 64 + 64); c++) kept.add(colPerm[c]!);
    }
    for (let j = Number(head.columnOffsets[qb]); j < Number(head.columnOffsets[qb + 1]); j++) {
      kept.add(colPerm[head.columnIds[j]!]!);
    }
    rows[row] = [...kept].filter((key) => key <= row).sort((a, b) => a - b);
  }
  return rows;
}

export function relativeError(o: Float32Array, ref: Float64Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ref.length; i++) {
    diff = Math.max(diff, Math.abs(o[i]! - ref[i]!));
    scale = Math.max(scale, Math.abs(ref[i]!));
  }
  return diff / scale;
}
