import type { SamplingOptions } from '../../app/contract/video.js';
import { number } from './frames.js';

// The sampling flags of the commands that ask about a video (`mmi ask`, `mmi search-patterns`,
// `mmi compare-patterns`): each one given overrides the app's default; the others are left to it.

export const samplingFlags = {
  fps: { type: 'string' },
  'max-frames': { type: 'string' },
  'max-pixels': { type: 'string' },
  'min-pixels': { type: 'string' },
} as const;

export function samplingFrom(values: {
  fps?: string | undefined;
  'max-frames'?: string | undefined;
  'max-pixels'?: string | undefined;
  'min-pixels'?: string | undefined;
}): Partial<SamplingOptions> {
  const sampling: Partial<SamplingOptions> = {};
  if (values.fps !== undefined) sampling.fps = number('--fps', values.fps);
  if (values['max-frames'] !== undefined) sampling.maxFrames = number('--max-frames', values['max-frames']);
  if (values['max-pixels'] !== undefined) sampling.maxPixels = number('--max-pixels', values['max-pixels']);
  if (values['min-pixels'] !== undefined) sampling.minPixels = number('--min-pixels', values['min-pixels']);
  return sampling;
}
