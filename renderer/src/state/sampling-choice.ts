import type { SamplingOptions } from '../../../app/contract/video.js';
import { defaultSamplingOptions } from '../../../app/domain/sampling.js';

/** What the sampling panel edits; the rest of SamplingOptions follows from these (see `samplingFrom`). */
export interface SamplingChoice {
  fps: number;
  maxFrames: number;
  maxPixels: number;
}

/** The full options a request carries: the user's choices, with the lower budgets kept consistent with them. */
export function samplingFrom(choice: SamplingChoice): SamplingOptions {
  return {
    ...defaultSamplingOptions,
    fps: choice.fps,
    maxFrames: choice.maxFrames,
    minFrames: Math.min(defaultSamplingOptions.minFrames, choice.maxFrames),
    maxPixels: choice.maxPixels,
    minPixels: Math.min(defaultSamplingOptions.minPixels, choice.maxPixels),
  };
}
