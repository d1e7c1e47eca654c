import type { HeadReport } from '../../../app/contract/engine.js';

// The figures shown for an attention head, each defined once: the same words, digits and explanation wherever
// the explorer, the head grid, the timings and the Patterns view show them.

export const figureHelp = {
  recall:
    "Recall on this prompt: the share of the head's exact (dense) attention that its sparse mask keeps, averaged " +
    'over query rows sampled evenly through the prompt. 1 keeps everything. Measured for sparse heads whose ' +
    'heatmap was captured, or under a recall floor.',
  calibrationRecall:
    'Recall at calibration: the same share, measured by the pattern search on its calibration videos when it ' +
    'chose this pattern. A prompt unlike those videos can keep less.',
  density:
    "Density: the share of the causal (query, key) pairs the head's mask computes. Lower is faster; dense is 100%.",
  coverage:
    'Mask coverage: the share of the sampled rows’ causal pairs inside the mask (the density on those rows).',
} as const;

export function formatRecall(value: number): string {
  return value.toFixed(3);
}

export function formatDensity(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** A head's recall on this prompt as a person reads it, with why it may be missing. */
export function recallText(report: HeadReport): string {
  if (report.recall !== null) return formatRecall(report.recall);
  if (report.applied === 'dense') return `${formatRecall(1)} (dense keeps all of it)`;
  return 'not measured (capture this head’s heatmap)';
}
