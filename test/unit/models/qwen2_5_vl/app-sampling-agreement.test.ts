// The app's sampling plan rule (app/domain/sampling.ts) against qwen-vl-utils' reference numbers recorded with
// the fixtures: frame counts, per-frame pixel caps, resized sizes, sample fps and video tokens.
import { describe, expect, it } from 'vitest';

import {
  defaultSamplingOptions,
  frameCount,
  perFramePixelCap,
  smartResize,
  visualTokens,
} from '../../../../app/domain/sampling.js';
import type { SamplingOptions } from '../../../../app/contract/video.js';
import { readJson, type PreprocessTables } from '../../../support/preprocess-tables.js';

const tables = readJson<PreprocessTables>('preprocess.json');

describe('app sampling rule vs qwen-vl-utils', () => {
  it('smartResize gives the reference size wherever the reference size is usable', () => {
    let compared = 0;
    for (const row of tables.smart_resize) {
      const run = () => smartResize(row.height, row.width, row.min_pixels, row.max_pixels);
      if (row.qwen_vl_utils_error) {
        expect(run).toThrow();
        continue;
      }
      const [h, w] = row.qwen_vl_utils!;
      if (h === 0 || w === 0) continue; // the reference degenerates to a zero side there; the app keeps 28
      expect(run(), `${row.height}x${row.width} in [${row.min_pixels}, ${row.max_pixels}]`).toEqual({
        height: h,
        width: w,
      });
      compared++;
    }
    expect(compared).toBeGreaterThan(60);
  });

  it('frame count, pixel cap, size, sample fps and tokens match fetch_video', () => {
    let compared = 0;
    for (const row of tables.frame_sampling) {
      if (!row.plan || row.options.nframes !== undefined) continue; // the app samples by rate only
      const options: SamplingOptions = {
        ...defaultSamplingOptions,
        ...(row.options.fps !== undefined && { fps: row.options.fps }),
        ...(row.options.min_frames !== undefined && { minFrames: row.options.min_frames }),
        ...(row.options.max_frames !== undefined && { maxFrames: row.options.max_frames }),
        ...(row.options.max_pixels !== undefined && { maxPixels: row.options.max_pixels }),
        ...(row.options.total_pixels !== undefined && { totalPixels: row.options.total_pixels }),
      };
      const plan = row.plan;
      const label = `${row.total_frames} frames at ${row.video_fps} fps, ${JSON.stringify(row.options)}`;
      const n = frameCount(row.total_frames, row.video_fps, options);
      expect(n, label).toBe(plan.nframes);
      const cap = perFramePixelCap(n, options);
      expect(cap, label).toBeCloseTo(plan.max_pixels, 6);
      const size = smartResize(row.height, row.width, options.minPixels, cap);
      expect(size, label).toEqual({ height: plan.resized_height, width: plan.resized_width });
      expect((n / row.total_frames) * row.video_fps, label).toBeCloseTo(plan.sample_fps, 12);
      expect(visualTokens(n, size.width, size.height), label).toBe(plan.video_tokens);
      compared++;
    }
    expect(compared).toBeGreaterThan(8);
  });
});
