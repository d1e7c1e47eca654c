// The engine's contract: heatmap grids survive the base64 float32 encoding bit for bit, and the ask params fill
// their defaults and refuse nonsense.
import { describe, expect, it } from 'vitest';

import {
  AskParamsSchema,
  decodeF32,
  encodeF32,
  HeatmapRequestSchema,
} from '../../../../app/contract/engine.js';

describe('engine contract', () => {
  it('float32 grids round-trip through base64 exactly, specials included', () => {
    const values = new Float32Array(70000);
    for (let i = 0; i < values.length; i++) values[i] = Math.fround(Math.sin(i) * 10 ** ((i % 60) - 30));
    values.set([0, -0, Infinity, -Infinity, NaN, 1.401298464324817e-45], 0);
    const back = decodeF32(encodeF32(values));
    expect(Buffer.from(back.buffer).equals(Buffer.from(values.buffer))).toBe(true);
    // Little-endian bytes: 1.0f is 00 00 80 3f.
    expect(encodeF32(new Float32Array([1]))).toBe(Buffer.from([0, 0, 0x80, 0x3f]).toString('base64'));
    expect(() => decodeF32(Buffer.from([1, 2, 3]).toString('base64'))).toThrow(RangeError);
  });

  it('fills defaults and refuses bad asks', () => {
    expect(HeatmapRequestSchema.parse({ heads: 'all' })).toEqual({ heads: 'all' });
    expect(HeatmapRequestSchema.safeParse({ heads: 'all', grid: 2 }).success).toBe(false);
    expect(AskParamsSchema.safeParse({ question: '   ' }).success).toBe(false);
    expect(AskParamsSchema.safeParse({ question: 'q', generation: { maxTokens: 0 } }).success).toBe(false);
    expect(AskParamsSchema.safeParse({ question: 'q', heatmaps: { heads: [] } }).success).toBe(false);
    expect(AskParamsSchema.parse({ question: 'What moves?' })).toEqual({ question: 'What moves?' });
  });
});
