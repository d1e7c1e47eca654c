// The tensors of a Qwen2.5-VL fixture's reference.safetensors (the transformers reference outputs) as typed arrays.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { fixturesDir } from '../support/preprocess-tables.js';

interface Entry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface Reference {
  shape(name: string): number[];
  f32(name: string): Float32Array;
  i64(name: string): number[];
  u8(name: string): Uint8Array;
}

export function modelDir(fixture: string): string {
  return path.join(fixturesDir, fixture, 'model');
}

export function readReference(fixture: string): Reference {
  const bytes = readFileSync(path.join(fixturesDir, fixture, 'reference.safetensors'));
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, Entry>;
  const raw = (name: string, dtype: string): Buffer => {
    const entry = header[name];
    if (!entry || entry.dtype !== dtype) throw new Error(`${fixture}: no ${dtype} tensor ${name}`);
    return bytes.subarray(8 + headerLength + entry.data_offsets[0], 8 + headerLength + entry.data_offsets[1]);
  };
  return {
    shape: (name) => {
      const entry = header[name];
      if (!entry) throw new Error(`${fixture}: no tensor ${name}`);
      return entry.shape;
    },
    f32: (name) => {
      const b = raw(name, 'F32');
      return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
    },
    i64: (name) => {
      const b = raw(name, 'I64');
      return Array.from({ length: b.length / 8 }, (_, i) => Number(b.readBigInt64LE(i * 8)));
    },
    u8: (name) => new Uint8Array(raw(name, 'U8')),
  };
}

/** max |a − b| / max |b|: the relative error every fixture comparison uses. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} vs ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}
