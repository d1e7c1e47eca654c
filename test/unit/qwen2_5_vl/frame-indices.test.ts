import { describe, expect, it } from 'vitest';

import { linspaceFrameIndices } from '../../../models/qwen2_5_vl/frame-indices.js';
import { readJson, type PreprocessTables } from './fixture.js';

const tables = readJson<PreprocessTables>('preprocess.json');

describe('linspaceFrameIndices', () => {
  it('reproduces torch.linspace(...).round() for every sampled case, long videos included', () => {
    const planned = tables.frame_sampling.filter((row) => row.plan);
    expect(planned.length).toBeGreaterThan(10);
    for (const row of planned) {
      const plan = row.plan!;
      expect(
        linspaceFrameIndices(row.total_frames, plan.nframes),
        `${row.total_frames} frames → ${plan.nframes}`,
      ).toEqual(plan.indices);
    }
  });

  it('refuses nonsense', () => {
    expect(linspaceFrameIndices(10, 1)).toEqual([0]);
    expect(() => linspaceFrameIndices(0, 2)).toThrow(RangeError);
    expect(() => linspaceFrameIndices(10, 1.5)).toThrow(RangeError);
  });
});
