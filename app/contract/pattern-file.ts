import { z } from 'zod';
import type { PatternName } from './engine.js';

// The pattern file (schema version 1) as zod: the mirror of native/patterns/pattern-file.schema.json, which the
// native loader implements. Which sparse pattern each (layer, head) of a model uses in pre-fill, with budgets that
// scale with the prompt length, the model the file was made for and, when the offline search made it, the
// calibration inputs, the search settings and what each head kept in calibration. Objects are strict: an unknown
// key anywhere is an error, as in the native loader. What the JSON schema cannot say (layer and head counts against
// `model`, `heads` a multiple of `kv_heads`, video_tokens ≤ tokens) is checked by app/domain/pattern-file-check.ts.

export const patternFileFormat = 'mmi-pattern-file';
export const patternSchemaVersion = 1;
/** Budget counts are int32 positions in the index. */
export const maxBudgetCount = 2 ** 31 - 1;
/** A head's calibration cost can exceed 1 (a permuted index), at most this. */
export const maxCost = 8;

const CountSchema = z.number().int().min(0).max(maxBudgetCount);
const Sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hexadecimal digits');

/**
 * One budget that scales with the prompt length N: {count} that many whatever N; {count, reference_tokens} count
 * at reference_tokens, ceil(count · N / reference_tokens) at N; {fraction} ceil(fraction · N) (of the key blocks
 * for top_k_blocks).
 */
export const BudgetSchema = z
  .strictObject({
    count: CountSchema.optional(),
    reference_tokens: z.number().int().min(1).max(maxBudgetCount).optional(),
    fraction: z.number().min(0).max(1).optional(),
  })
  .superRefine((b, ctx) => {
    const valid =
      b.fraction !== undefined
        ? b.count === undefined && b.reference_tokens === undefined
        : b.count !== undefined;
    if (!valid) {
      ctx.addIssue({
        code: 'custom',
        message: 'a budget is either {fraction} or {count[, reference_tokens]}',
      });
    }
  });
export type Budget = z.infer<typeof BudgetSchema>;

/** grid_lines: a fixed number of phases, whatever N. */
export const FixedBudgetSchema = z.strictObject({ count: CountSchema });

export const VerticalSlashBudgetsSchema = z.strictObject({ vertical: BudgetSchema, slash: BudgetSchema });
export type VerticalSlashBudgets = z.infer<typeof VerticalSlashBudgetsSchema>;

/** The budgets each pattern takes, exactly. */
const budgetsByPattern = {
  dense: z.strictObject({}),
  a_shape: z.strictObject({ sink_tokens: BudgetSchema, local_tokens: BudgetSchema }),
  vertical_slash: VerticalSlashBudgetsSchema,
  block_sparse: z.strictObject({ top_k_blocks: BudgetSchema }),
  grid: z.strictObject({
    sink_tokens: BudgetSchema,
    local_tokens: BudgetSchema,
    grid_lines: FixedBudgetSchema,
  }),
  q_boundary: z.strictObject({
    text_rows: VerticalSlashBudgetsSchema,
    video_rows: VerticalSlashBudgetsSchema,
  }),
  two_d_boundary: z.strictObject({
    text_to_text: VerticalSlashBudgetsSchema,
    text_to_video: VerticalSlashBudgetsSchema,
    video_to_text: VerticalSlashBudgetsSchema,
    video_to_video: VerticalSlashBudgetsSchema,
  }),
} as const satisfies Record<PatternName, z.ZodType>;

function patternOf<P extends PatternName>(pattern: P) {
  return { pattern: z.literal(pattern), budgets: budgetsByPattern[pattern] };
}

/** A candidate of the search: a pattern and its budgets. */
export const CandidateSchema = z.discriminatedUnion('pattern', [
  z.strictObject(patternOf('dense')),
  z.strictObject(patternOf('a_shape')),
  z.strictObject(patternOf('vertical_slash')),
  z.strictObject(patternOf('block_sparse')),
  z.strictObject(patternOf('grid')),
  z.strictObject(patternOf('q_boundary')),
  z.strictObject(patternOf('two_d_boundary')),
]);
export type Candidate = z.infer<typeof CandidateSchema>;

/** What the search measured for a head, averaged over the calibration inputs, on sampled rows. */
export const HeadStatsSchema = z.strictObject({
  recall: z.number().min(0).max(1),
  density: z.number().min(0).max(1),
  cost: z.number().min(0).max(maxCost),
});
export type HeadStats = z.infer<typeof HeadStatsSchema>;

const headOf = <P extends PatternName>(pattern: P) =>
  z.strictObject({
    head: z.number().int().min(0).max(1024),
    ...patternOf(pattern),
    calibration: HeadStatsSchema.optional(),
  });

export const HeadEntrySchema = z.discriminatedUnion('pattern', [
  headOf('dense'),
  headOf('a_shape'),
  headOf('vertical_slash'),
  headOf('block_sparse'),
  headOf('grid'),
  headOf('q_boundary'),
  headOf('two_d_boundary'),
]);
export type HeadEntry = z.infer<typeof HeadEntrySchema>;

export const PatternModelSchema = z.strictObject({
  family: z
    .string()
    .max(64)
    .regex(/^[a-z0-9_]+$/, 'expected a model family name ([a-z0-9_]+)'),
  layers: z.number().int().min(1).max(4096),
  heads: z.number().int().min(1).max(1024),
  kv_heads: z.number().int().min(1).max(1024),
  head_dim: z.number().int().min(1).max(256),
  config_sha256: Sha256Schema,
});
export type PatternModel = z.infer<typeof PatternModelSchema>;

export const CalibrationInputSchema = z.strictObject({
  name: z.string().max(4096),
  tokens: z.number().int().min(1).max(maxBudgetCount),
  video_tokens: z.number().int().min(0).max(maxBudgetCount),
  sha256: Sha256Schema,
});
export type CalibrationInput = z.infer<typeof CalibrationInputSchema>;

export const SearchSettingsSchema = z.strictObject({
  cost_target: z.number().min(0).max(1),
  recall_samples: z.number().int().min(1).max(1048576),
  tie_tolerance: z.number().min(0).max(1),
  dense_below_recall: z.number().min(0).max(1),
  candidates: z.array(CandidateSchema).min(1).max(4096),
});
export type SearchSettings = z.infer<typeof SearchSettingsSchema>;

export const PatternFileSchema = z.strictObject({
  format: z.literal(patternFileFormat),
  schema_version: z.literal(patternSchemaVersion),
  model: PatternModelSchema,
  calibration: z.strictObject({ inputs: z.array(CalibrationInputSchema).max(100000) }).optional(),
  search: SearchSettingsSchema.optional(),
  layers: z
    .array(
      z.strictObject({
        layer: z.number().int().min(0).max(4096),
        heads: z.array(HeadEntrySchema).min(1).max(1024),
      }),
    )
    .min(1)
    .max(4096),
});
export type PatternFile = z.infer<typeof PatternFileSchema>;
