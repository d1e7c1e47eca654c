import { describe, expect, it } from 'vitest';

import { frameIndices } from '../../../../app/domain/sampling.js';
import { readJson, type PreprocessTables } from '../../../support/preprocess-tables.js';

const tables = readJson<PreprocessTables>('preprocess.json');

describe('frameIndices against the reference', () => {
  it('reproduces torch.linspace(...).round() for every sampled case, long videos included', () => {
    const planned = tables.frame_sampling.filter((row) => row.plan);
    expect(planned.length).toBeGreaterThan(10);
    for (const row of planned) {
      const plan = row.plan!;
      expect(
        frameIndices(row.total_frames, plan.nframes),
        `${row.total_frames} frames → ${plan.nframes}`,
      ).toEqual(plan.indices);
    }
  });
});
