import type { Comparison } from '../contract/patterns.js';
import { toCsv } from './pattern-summary.js';

// The arithmetic of comparing pattern files on a video: how far two greedy answers agree, and the pre-fill time a
// file's per-head costs predict from a dense run.

export interface Agreement {
  /** Tokens the two answers share from the start. */
  prefix: number;
  /** Positions where both answers have the same token. */
  matching: number;
  /** The longer answer's length. */
  total: number;
}

export function answerAgreement(a: readonly number[], b: readonly number[]): Agreement {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix += 1;
  let matching = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] === b[i]) matching += 1;
  return { prefix, matching, total: Math.max(a.length, b.length) };
}

/**
 * The pre-fill time a file predicts: the dense run's time with its attention share scaled by the file's costs.
 * Heads run in parallel on `threads` threads, so the dense attention's wall time is taken as its summed head time
 * over the threads (at most the whole pre-fill); each head's share of it scales by the head's cost (kernel tiles
 * over dense tiles). Estimation overhead is not in the prediction: the measured time shows it.
 */
export function predictedPrefillMs(
  densePrefillMs: number,
  denseAttentionMs: readonly number[],
  costs: readonly number[],
  threads: number,
): number {
  if (denseAttentionMs.length !== costs.length) {
    throw new RangeError(`${denseAttentionMs.length} dense heads but ${costs.length} costs`);
  }
  const total = denseAttentionMs.reduce((s, ms) => s + ms, 0);
  if (total <= 0) return densePrefillMs;
  const attentionWall = Math.min(densePrefillMs, total / Math.max(1, threads));
  const scaled = denseAttentionMs.reduce((s, ms, i) => s + ms * (costs[i] ?? 1), 0) / total;
  return densePrefillMs - attentionWall + attentionWall * scaled;
}

/** One row per head: each file's planned and applied pattern, density, recall and cost. */
export function comparisonCsv(c: Comparison): string {
  const side = (h: Comparison['heads'][number]['a']) => [
    h.pattern,
    h.applied,
    h.density,
    h.recall,
    h.cost,
    h.attentionMs,
  ];
  return toCsv(
    [
      'layer',
      'head',
      ...['pattern', 'applied', 'density', 'recall', 'cost', 'attention_ms'].map((k) => `a_${k}`),
      ...['pattern', 'applied', 'density', 'recall', 'cost', 'attention_ms'].map((k) => `b_${k}`),
    ],
    c.heads.map((h) => [h.layer, h.head, ...side(h.a), ...side(h.b)]),
  );
}

/** One row per run (dense, a, b): the file, measured and predicted pre-fill time, density, recall, the answer. */
export function runsCsv(c: Comparison): string {
  return toCsv(
    [
      'run',
      'patterns',
      'prefill_ms',
      'predicted_ms',
      'attention_ms',
      'estimation_ms',
      'density',
      'mean_recall',
      'answer',
    ],
    c.runs.map((r) => [
      r.run,
      r.patterns,
      r.prefillMs,
      r.predictedMs,
      r.attentionMs,
      r.estimationMs,
      r.density,
      r.meanRecall,
      r.answer,
    ]),
  );
}
