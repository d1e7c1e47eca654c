import { describe, expect, it } from 'vitest';
import type { SamplingOptions, VideoMeta } from '../../../../app/contract/video.js';
import {
  defaultSamplingOptions,
  frameCount,
  frameIndices,
  perFramePixelCap,
  planSampling,
  roundHalfEven,
  sampleSpacing,
  smartResize,
} from '../../../../app/domain/sampling.js';

type PlanMeta = Pick<VideoMeta, 'durationSec' | 'fps' | 'frameCount' | 'width' | 'height'>;

const meta = (
  width: number,
  height: number,
  durationSec: number,
  fps = 30,
  frames: number | null = null,
): PlanMeta => ({
  width,
  height,
  durationSec,
  fps,
  frameCount: frames,
});

const options = (overrides: Partial<SamplingOptions> = {}): SamplingOptions => ({
  ...defaultSamplingOptions,
  ...overrides,
});

// Sizes produced by qwen-vl-utils' own code at its defaults (research notes, engine.md §1.3 table): (source, frames
// sampled) → resized width × height. Up to 300 frames the per-frame cap is max_pixels (602,112); at 768 frames the
// total budget lowers it to 235,200.
const qwenReference: Array<{ src: [number, number]; frames: number; out: [number, number] }> = [
  { src: [640, 360], frames: 256, out: [644, 364] },
  { src: [854, 480], frames: 256, out: [840, 476] },
  { src: [854, 480], frames: 768, out: [644, 336] },
  { src: [1280, 720], frames: 256, out: [1008, 560] },
  { src: [1920, 1080], frames: 256, out: [1008, 560] },
  { src: [3840, 2160], frames: 256, out: [1008, 560] },
  { src: [1920, 1080], frames: 768, out: [644, 336] },
  { src: [640, 480], frames: 256, out: [644, 476] },
  { src: [640, 480], frames: 768, out: [560, 420] },
];

describe('smartResize (Qwen2.5-VL resize rule)', () => {
  it.each(qwenReference.map((row) => ({ ...row, label: `${row.src.join('x')} → ${row.out.join('x')}` })))(
    '$label with $frames frames, as qwen-vl-utils computes',
    ({ src, frames, out }) => {
      const o = options();
      const size = smartResize(src[1], src[0], o.minPixels, perFramePixelCap(frames, o));
      expect([size.width, size.height]).toEqual(out);
    },
  );

  it('rounds halves to even like Python', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([0, 2, 2, 4, 2, 3]);
  });

  it.each([
    ['tiny', 16, 16],
    ['odd', 317, 239],
    ['portrait', 180, 320],
    ['very wide', 4000, 30],
    ['8K', 7680, 4320],
    ['one pixel row above the limit', 28, 28],
  ])('%s %ix%i: sides are multiples of 28 within the pixel budget, aspect kept', (_name, width, height) => {
    const o = options();
    const size = smartResize(height, width, o.minPixels, o.maxPixels);
    expect(size.width % 28).toBe(0);
    expect(size.height % 28).toBe(0);
    expect(size.width * size.height).toBeLessThanOrEqual(o.maxPixels);
    // Upscaling by ceil may pass min by up to one factor per side; the floor branch never goes below one factor.
    expect(size.width * size.height).toBeGreaterThanOrEqual(Math.min(o.minPixels, 28 * 28));
    const sourceRatio = width / height;
    const ratio = size.width / size.height;
    // Each side moves by at most one factor (28 px) from the exact scale, so the ratio error is bounded by it.
    expect(Math.abs(Math.log(ratio / sourceRatio))).toBeLessThan(
      Math.log((Math.min(size.width, size.height) + 28) / Math.min(size.width, size.height)) + 1e-9,
    );
  });

  it('scales a tiny frame up to the pixel floor', () => {
    const size = smartResize(16, 16, 100_352, 602_112);
    expect(size).toEqual({ width: 336, height: 336 });
    expect(336 * 336).toBeGreaterThanOrEqual(100_352);
    expect(308 * 308).toBeLessThan(100_352);
  });

  it('treats portrait as the transpose of landscape', () => {
    const o = options();
    const landscape = smartResize(360, 640, o.minPixels, o.maxPixels);
    const portrait = smartResize(640, 360, o.minPixels, o.maxPixels);
    expect(portrait).toEqual({ width: landscape.height, height: landscape.width });
  });

  it('refuses an aspect ratio beyond 200', () => {
    expect(() => smartResize(10, 2010, 3136, 602_112)).toThrow(/aspect ratio/);
  });
});

describe('frameCount (qwen-vl-utils smart_nframes)', () => {
  it('samples fps × duration, even', () => {
    expect(frameCount(300, 30, options({ fps: 2 }))).toBe(20);
    expect(frameCount(330, 30, options({ fps: 1 }))).toBe(10); // 11 → floored to even
  });
  it('clamps to minFrames and maxFrames rounded to even', () => {
    expect(frameCount(30, 30, options({ fps: 1, minFrames: 3 }))).toBe(4);
    expect(frameCount(1_000_000, 30, options({ fps: 2, maxFrames: 101 }))).toBe(100);
  });
  it('never asks for more frames than the video has', () => {
    expect(frameCount(5, 30, options({ fps: 60, minFrames: 4 }))).toBe(4);
    expect(frameCount(3, 30, options({ minFrames: 4 }))).toBe(2);
  });
  it('repeats the only frame of a one-frame video (two frames make a temporal patch)', () => {
    expect(frameCount(1, 25, options())).toBe(2);
  });
});

describe('frameIndices', () => {
  it('spreads from the first to the last frame like torch.linspace(...).round()', () => {
    expect(frameIndices(100, 8)).toEqual([0, 14, 28, 42, 57, 71, 85, 99]);
    expect(frameIndices(10, 10)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
  it('rounds an exact half to the even frame', () => {
    // step 49.5: index 1 sits exactly between frames 49 and 50.
    expect(frameIndices(100, 3)).toEqual([0, 50, 99]);
  });
  it('gives one frame repeated for a one-frame video', () => {
    expect(frameIndices(1, 2)).toEqual([0, 0]);
  });
  it('is strictly increasing whenever there are at least as many frames as samples', () => {
    for (const [total, count] of [
      [2, 2],
      [7, 6],
      [1001, 768],
      [1_080_000, 768],
    ] as const) {
      const indices = frameIndices(total, count);
      expect(indices).toHaveLength(count);
      expect(indices[0]).toBe(0);
      expect(indices.at(-1)).toBe(total - 1);
      for (let i = 1; i < indices.length; i++) expect(indices[i]).toBeGreaterThan(indices[i - 1] ?? Infinity);
    }
  });
});

describe('planSampling', () => {
  it('plans a 10 s 1080p clip at 2 fps: 20 frames of 1008×560, 10 temporal patches of 20×36 tokens', () => {
    const plan = planSampling(meta(1920, 1080, 10, 30, 300), options({ fps: 2 }));
    expect(plan.times).toHaveLength(20);
    expect([plan.width, plan.height]).toEqual([1008, 560]);
    expect([plan.gridT, plan.gridH, plan.gridW]).toEqual([10, 40, 72]);
    expect(plan.visualTokens).toBe(10 * 20 * 36);
    expect(plan.sampleFps).toBeCloseTo(2, 10);
    expect(plan.times[0]).toBe(0);
    expect(plan.times.at(-1)).toBeCloseTo(299 / 30, 12);
  });

  it('steps by 15 or 16 frames at 2 fps of a 60 s 30 fps video, as linspace(0, 1799, 120) rounds', () => {
    // 1799 / 119 = 15.118 frames a step: 0, 15, 30, 45, 60, 76, 91, … (by hand from the rule).
    const plan = planSampling(meta(640, 360, 60, 30, 1800), options({ fps: 2 }));
    expect(plan.times.slice(0, 7).map((t) => Math.round(t * 30))).toEqual([0, 15, 30, 45, 60, 76, 91]);
    const spacing = sampleSpacing(plan.times);
    expect(spacing?.shortest).toBeCloseTo(15 / 30, 12);
    expect(spacing?.longest).toBeCloseTo(16 / 30, 12);
    expect(sampleSpacing([0, 1, 2])).toEqual({ shortest: 1, longest: 1 });
    expect(sampleSpacing([0])).toBeNull();
  });

  it('plans a clip shorter than a second with the minimum frame count', () => {
    const plan = planSampling(meta(640, 360, 0.5, 30, 15), options({ fps: 2 }));
    expect(plan.times).toHaveLength(4);
    expect(plan.times.at(-1)).toBeCloseTo(14 / 30, 12);
    expect(plan.sampleFps).toBeCloseTo((4 / 15) * 30, 10);
  });

  it('plans a one-frame video as its frame twice', () => {
    const plan = planSampling(meta(320, 240, 0.04, 25, 1), options());
    expect(plan.times).toEqual([0, 0]);
    expect(plan.gridT).toBe(1);
  });

  it('caps a 10 h video at maxFrames and shrinks frames to the total budget', () => {
    const plan = planSampling(meta(1920, 1080, 36_000, 30), options({ fps: 2 }));
    expect(plan.times).toHaveLength(768);
    expect([plan.width, plan.height]).toEqual([644, 336]);
    expect(plan.visualTokens).toBe(105_984); // 384 patches × 12 × 23, the qwen-vl-utils figure for 768 frames
    expect(plan.times.at(-1)).toBeCloseTo((36_000 * 30 - 1) / 30, 6);
  });

  it('lets a 10 h video reach millions of tokens when the budgets are raised', () => {
    const plan = planSampling(
      meta(1920, 1080, 36_000, 30),
      options({ fps: 1, maxFrames: 100_000, totalPixels: 4e10 }),
    );
    expect(plan.times).toHaveLength(36_000);
    expect(plan.visualTokens).toBe(18_000 * (plan.height / 28) * (plan.width / 28));
    expect(plan.visualTokens).toBeGreaterThan(1_000_000);
  });

  it('plans 8K at the same token cost as 4K (the per-frame budget, not the source, sets the size)', () => {
    const eightK = planSampling(meta(7680, 4320, 60, 30), options());
    const fourK = planSampling(meta(3840, 2160, 60, 30), options());
    expect([eightK.width, eightK.height]).toEqual([fourK.width, fourK.height]);
    expect(eightK.visualTokens).toBe(fourK.visualTokens);
  });

  it('plans a rotated video (displayed portrait) as a portrait frame', () => {
    const landscape = planSampling(meta(320, 240, 2, 25, 50), options());
    const rotated = planSampling(meta(240, 320, 2, 25, 50), options());
    expect([rotated.width, rotated.height]).toEqual([landscape.height, landscape.width]);
  });

  it('estimates frames from duration × rate when the container does not record a count', () => {
    const plan = planSampling(meta(640, 360, 100, 25, null), options({ fps: 1 }));
    expect(plan.times).toHaveLength(100);
    expect(plan.times.at(-1)).toBeCloseTo(2499 / 25, 10);
  });
});
