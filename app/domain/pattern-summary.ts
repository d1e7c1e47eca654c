import { patternNames, type PatternName } from '../contract/engine.js';
import type { Budget, Candidate, HeadEntry, PatternFile } from '../contract/pattern-file.js';

// What a pattern file says at a glance and in numbers: pattern counts per layer, mean recall, density and cost of
// the calibration, one row per head (for the grid, the CSV and the CLI's summary). Means are plain means over the
// heads the search measured.

export interface HeadRow {
  layer: number;
  head: number;
  pattern: PatternName;
  /** The budgets in their command-line form, e.g. "sink_tokens=64,local_tokens=0.0625". */
  budgets: string;
  /** Calibration: null for hand-written files. */
  recall: number | null;
  density: number | null;
  cost: number | null;
}

export interface LayerSummary {
  layer: number;
  counts: Record<PatternName, number>;
  meanRecall: number | null;
  meanDensity: number | null;
}

export interface PatternSummary {
  family: string;
  layers: number;
  heads: number;
  counts: Record<PatternName, number>;
  perLayer: LayerSummary[];
  meanRecall: number | null;
  meanDensity: number | null;
  meanCost: number | null;
  inputs: { name: string; tokens: number; videoTokens: number }[];
  costTarget: number | null;
  candidates: number | null;
}

export function formatBudget(b: Budget): string {
  // A fraction keeps its decimal point (1 would read back as a count).
  if (b.fraction !== undefined)
    return Number.isInteger(b.fraction) ? b.fraction.toFixed(1) : String(b.fraction);
  return b.reference_tokens !== undefined ? `${b.count}@${b.reference_tokens}` : String(b.count);
}

/** A candidate or head's budgets as FIELD=VALUE pairs, nested fields with dots (the `--budget` form). */
export function formatBudgets(entry: Pick<Candidate, 'budgets'>): string {
  const parts: string[] = [];
  const walk = (node: Record<string, unknown>, prefix: string): void => {
    for (const [key, value] of Object.entries(node)) {
      const name = prefix ? `${prefix}.${key}` : key;
      const v = value as Record<string, unknown>;
      if ('count' in v || 'fraction' in v) parts.push(`${name}=${formatBudget(v as Budget)}`);
      else walk(v, name);
    }
  };
  walk(entry.budgets as Record<string, unknown>, '');
  return parts.join(',');
}

/** The candidate's command-line form: PATTERN[:FIELD=VALUE,...]. */
export function formatCandidate(c: Candidate): string {
  const budgets = formatBudgets(c);
  return budgets ? `${c.pattern}:${budgets}` : c.pattern;
}

export function headRows(f: PatternFile): HeadRow[] {
  return f.layers.flatMap((layer) =>
    layer.heads.map((h: HeadEntry) => ({
      layer: layer.layer,
      head: h.head,
      pattern: h.pattern,
      budgets: formatBudgets(h),
      recall: h.calibration?.recall ?? null,
      density: h.calibration?.density ?? null,
      cost: h.calibration?.cost ?? null,
    })),
  );
}

function zeroCounts(): Record<PatternName, number> {
  return Object.fromEntries(patternNames.map((name) => [name, 0])) as Record<PatternName, number>;
}

function mean(values: (number | null)[]): number | null {
  const measured = values.filter((v): v is number => v !== null);
  return measured.length === 0 ? null : measured.reduce((a, b) => a + b, 0) / measured.length;
}

export function summarizePatternFile(f: PatternFile): PatternSummary {
  const rows = headRows(f);
  const counts = zeroCounts();
  for (const r of rows) counts[r.pattern] += 1;
  return {
    family: f.model.family,
    layers: f.model.layers,
    heads: f.model.heads,
    counts,
    perLayer: f.layers.map((layer) => {
      const mine = rows.filter((r) => r.layer === layer.layer);
      const c = zeroCounts();
      for (const r of mine) c[r.pattern] += 1;
      return {
        layer: layer.layer,
        counts: c,
        meanRecall: mean(mine.map((r) => r.recall)),
        meanDensity: mean(mine.map((r) => r.density)),
      };
    }),
    meanRecall: mean(rows.map((r) => r.recall)),
    meanDensity: mean(rows.map((r) => r.density)),
    meanCost: mean(rows.map((r) => r.cost)),
    inputs: (f.calibration?.inputs ?? []).map((i) => ({
      name: i.name,
      tokens: i.tokens,
      videoTokens: i.video_tokens,
    })),
    costTarget: f.search?.cost_target ?? null,
    candidates: f.search?.candidates.length ?? null,
  };
}

/** "block_sparse 3, vertical_slash 1": the patterns present, in the schema's order. */
export function formatCounts(counts: Record<PatternName, number>): string {
  return patternNames
    .filter((name) => counts[name] > 0)
    .map((name) => `${name} ${counts[name]}`)
    .join(', ');
}

const num = (v: number | null, digits = 3): string => (v === null ? '—' : v.toFixed(digits));

/** The summary as lines for a terminal. */
export function summaryLines(s: PatternSummary): string[] {
  return [
    `${s.family}: ${s.layers} layers × ${s.heads} heads — ${formatCounts(s.counts)}`,
    `mean recall ${num(s.meanRecall)}, mean density ${num(s.meanDensity)}, mean cost ${num(s.meanCost)}` +
      (s.costTarget === null ? '' : ` (cost target ${s.costTarget}, ${s.candidates} candidates)`),
    ...s.perLayer.map(
      (l) =>
        `  layer ${l.layer}: ${formatCounts(l.counts)}; recall ${num(l.meanRecall)}, density ${num(l.meanDensity)}`,
    ),
  ];
}

/** A CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(header: string[], rows: (string | number | null)[][]): string {
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** One row per head: layer, head, pattern, budgets, recall, density, cost. */
export function patternCsv(f: PatternFile): string {
  return toCsv(
    ['layer', 'head', 'pattern', 'budgets', 'recall', 'density', 'cost'],
    headRows(f).map((r) => [r.layer, r.head, r.pattern, r.budgets, r.recall, r.density, r.cost]),
  );
}
