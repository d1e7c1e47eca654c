import { describe, expect, it } from 'vitest';

import { mropePositions } from '../../../../models/qwen2_5_vl/rope-index.js';
import {
  fixtureNames,
  readJson,
  referenceInts,
  type FixtureMeta,
} from '../../../support/preprocess-tables.js';

describe('mropePositions', () => {
  for (const name of fixtureNames) {
    it(`gives ${name}'s reference position ids and rope delta`, () => {
      const meta = readJson<FixtureMeta>(name, 'meta.json');
      const ids = referenceInts(name, 'input_ids').values;
      const [t, h, w] = meta.video.grid_thw;
      const p = mropePositions(
        ids,
        meta.special_token_ids['<|video_pad|>']!,
        [{ t, h, w, secondPerGrid: meta.video.second_per_grid_t }],
        2,
        2,
      );
      const ref = referenceInts(name, 'position_ids').values;
      const n = ids.length;
      expect(p.rows).toEqual([ref.slice(0, n), ref.slice(n, 2 * n), ref.slice(2 * n)]);
      expect(p.ropeDelta).toBe(referenceInts(name, 'rope_deltas').values[0]);
      // Decoding continues at cache index + delta: the greedy run's full position ids end there.
      const full = referenceInts(name, 'greedy.position_ids').values;
      const m = full.length / 3;
      expect(full[m - 1]).toBe(p.next + (m - n) - 1);
    });
  }

  it('follows the original rule on long and fractional-interval videos (where transformers 5.x differs)', () => {
    const meta = readJson<FixtureMeta>('tiny-a', 'meta.json');
    const vp = meta.special_token_ids['<|video_pad|>']!;
    expect(meta.position_cases.length).toBeGreaterThan(5);
    let disagreements = 0;
    for (const c of meta.position_cases) {
      const [t, h, w] = c.grid_thw;
      const p = mropePositions(
        c.input_ids,
        vp,
        [{ t, h, w, secondPerGrid: c.second_per_grid_t }],
        c.tokens_per_second,
        2,
      );
      expect(p.rows).toEqual(c.position_ids);
      expect(p.ropeDelta).toBe(c.rope_delta);
      if (c.transformers_agrees === false) disagreements++;
    }
    expect(disagreements).toBeGreaterThan(0); // the cases do exercise the difference
  });

  it('refuses ids that do not match the videos', () => {
    expect(() => mropePositions([1, 2, 3], 9, [{ t: 1, h: 2, w: 2, secondPerGrid: 1 }], 2, 2)).toThrow(
      RangeError,
    );
    expect(() => mropePositions([9, 9], 9, [{ t: 1, h: 2, w: 2, secondPerGrid: 1 }], 2, 2)).toThrow(
      RangeError,
    );
    expect(() => mropePositions([1, 9], 9, [], 2, 2)).toThrow(RangeError);
    expect(() => mropePositions([9], 9, [{ t: 1, h: 3, w: 2, secondPerGrid: 1 }], 2, 2)).toThrow(RangeError);
  });
});
