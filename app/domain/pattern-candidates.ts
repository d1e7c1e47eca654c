import { CandidateSchema, type Budget, type Candidate } from '../contract/pattern-file.js';
import { firstIssue, jsonPath } from './pattern-file-check.js';

// Which candidates a search scores. The engine's defaults suit calibration prompts of 16K tokens and more (its
// budgets are MInference's, read at 128K tokens and scaled): at a few thousand tokens they fall to the forced
// minimum and every pattern costs a third of dense or more. The "short" ladder is sized for prompts of about 1K to
// 4K tokens, with its own cost target (native/patterns/README.md "Candidates"). A candidate can also be written on
// a command line as PATTERN:FIELD=VALUE,... (`--budget`), with the file's field names:
//   a_shape:sink_tokens=64,local_tokens=1/16        vertical_slash:vertical=1000@131072,slash=4096@131072
//   grid:sink_tokens=64,local_tokens=0.015625,grid_lines=4     q_boundary:text_rows.vertical=30,...
// A value N is {count: N}; N@R is {count: N, reference_tokens: R} (N at R tokens, scaled with the length); a
// decimal 0.x or a/b is {fraction}.

export const candidatePresets = ['default', 'short'] as const;
export type CandidatePreset = (typeof candidatePresets)[number];

/** Cost target that goes with the short ladder: at a few thousand tokens block granularity makes nothing cheap. */
export const shortPromptCostTarget = 0.45;

const count = (c: number): Budget => ({ count: c });
const fraction = (f: number): Budget => ({ fraction: f });

function shortLadder(): Candidate[] {
  const sinks = count(64);
  const vs = [
    { vertical: count(30), slash: count(100) },
    { vertical: count(45), slash: count(100) },
    { vertical: count(60), slash: count(102) },
  ];
  return [
    ...[1 / 16, 1 / 8].map((local): Candidate => ({
      pattern: 'a_shape',
      budgets: { sink_tokens: sinks, local_tokens: fraction(local) },
    })),
    ...vs.map((b): Candidate => ({ pattern: 'vertical_slash', budgets: b })),
    ...[1 / 8, 1 / 4].map((top): Candidate => ({
      pattern: 'block_sparse',
      budgets: { top_k_blocks: fraction(top) },
    })),
    ...[1, 4].map((lines): Candidate => ({
      pattern: 'grid',
      budgets: { sink_tokens: sinks, local_tokens: fraction(1 / 64), grid_lines: { count: lines } },
    })),
    ...vs.map((b): Candidate => ({ pattern: 'q_boundary', budgets: { text_rows: b, video_rows: b } })),
    ...vs.map((b): Candidate => ({
      pattern: 'two_d_boundary',
      budgets: { text_to_text: b, text_to_video: b, video_to_text: b, video_to_video: b },
    })),
  ];
}

/** The preset's candidates; null for the engine's defaults (the file records them once searched). */
export function presetCandidates(preset: CandidatePreset): Candidate[] | null {
  return preset === 'short' ? shortLadder() : null;
}

export class CandidateSpecError extends Error {
  override readonly name = 'CandidateSpecError';
}

function budgetOf(text: string, what: string): Budget {
  const scaled = /^(\d+)@(\d+)$/.exec(text);
  if (scaled) return { count: Number(scaled[1]), reference_tokens: Number(scaled[2]) };
  if (/^\d+$/.test(text)) return { count: Number(text) };
  const ratio = /^(\d+)\/(\d+)$/.exec(text);
  if (ratio) return { fraction: Number(ratio[1]) / Number(ratio[2]) };
  if (/^\d*\.\d+$/.test(text)) return { fraction: Number(text) };
  throw new CandidateSpecError(
    `${what}: "${text}" is not a budget (N, N@REFERENCE_TOKENS, 0.F or A/B${text.startsWith('-') ? '; budgets cannot be negative' : ''})`,
  );
}

/** One candidate from its command-line form, checked against the schema. */
export function parseCandidateSpec(spec: string): Candidate {
  const colon = spec.indexOf(':');
  const pattern = (colon < 0 ? spec : spec.slice(0, colon)).trim();
  const budgets: Record<string, unknown> = {};
  const fields = colon < 0 ? [] : spec.slice(colon + 1).split(',');
  for (const field of fields) {
    const eq = field.indexOf('=');
    if (eq < 0) throw new CandidateSpecError(`${spec}: "${field}" is not FIELD=VALUE`);
    const key = field.slice(0, eq).trim();
    const path = key.split('.');
    let node = budgets;
    for (const part of path.slice(0, -1)) {
      const next = (node[part] ??= {}) as Record<string, unknown>;
      node = next;
    }
    const leaf = path.at(-1) ?? '';
    if (leaf in node) throw new CandidateSpecError(`${spec}: ${key} is given twice`);
    node[leaf] = budgetOf(field.slice(eq + 1).trim(), `${spec}: ${key}`);
  }
  const parsed = CandidateSchema.safeParse({ pattern, budgets });
  if (!parsed.success) {
    const issue = firstIssue(parsed.error.issues);
    const where = issue ? jsonPath(issue.path) : '';
    throw new CandidateSpecError(
      `${spec}: ${where ? `${where}: ` : ''}${
        issue?.code === 'unrecognized_keys'
          ? `not a budget of ${pattern} (${issue.keys.join(', ')})`
          : (issue?.message ?? 'invalid')
      }`,
    );
  }
  return parsed.data;
}
