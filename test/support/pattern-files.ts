// Pattern files for the tests of both loaders (the TypeScript checks and the native one): the searched files of the
// tiny fixtures, hand-written files using every pattern and budget form, and hostile variants of a valid file, each
// with the error kind and JSON path both loaders must give and whether the JSON Schema alone can tell (what it
// cannot say, layer and head counts and the model, only the loaders check).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import type { PatternFileErrorKind } from '../../app/domain/pattern-file-check.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const patternSchemaPath = path.join(repoRoot, 'native', 'patterns', 'pattern-file.schema.json');
export const fixturePatternFile = (fixture: 'tiny-a' | 'tiny-b' | 'demo-showcase'): string =>
  path.join(repoRoot, 'models', 'qwen2_5_vl', 'patterns', `${fixture}.json`);

type Json = Record<string, unknown>;

export function readJsonFile(file: string): Json {
  return JSON.parse(readFileSync(file, 'utf8')) as Json;
}

const clone = (v: Json): Json => structuredClone(v);

/** layers[l].heads[h] of a parsed file. */
function head(f: Json, l: number, h: number): Json {
  return ((f.layers as Json[])[l]!.heads as Json[])[h]!;
}

const all = { count: 1 << 20 };
const vs = { vertical: { count: 1000, reference_tokens: 131072 }, slash: { fraction: 0.03125 } };
/** Every pattern with every budget form, for a file of `layers` × `heads`. */
export const everyPattern: Json[] = [
  { pattern: 'dense', budgets: {} },
  { pattern: 'a_shape', budgets: { sink_tokens: { count: 64 }, local_tokens: { fraction: 0.0625 } } },
  { pattern: 'vertical_slash', budgets: vs },
  { pattern: 'block_sparse', budgets: { top_k_blocks: { fraction: 0.125 } } },
  { pattern: 'grid', budgets: { sink_tokens: all, local_tokens: { fraction: 1 }, grid_lines: { count: 4 } } },
  { pattern: 'q_boundary', budgets: { text_rows: vs, video_rows: vs } },
  {
    pattern: 'two_d_boundary',
    budgets: { text_to_text: vs, text_to_video: vs, video_to_text: vs, video_to_video: vs },
  },
];

/** A hand-written file (no calibration, no search) cycling through every pattern, for the given model. */
export function handWritten(model: Json): Json {
  const layers = model.layers as number;
  const heads = model.heads as number;
  return {
    format: 'mmi-pattern-file',
    schema_version: 1,
    model,
    layers: Array.from({ length: layers }, (_, l) => ({
      layer: l,
      heads: Array.from({ length: heads }, (_, h) => ({
        head: h,
        ...everyPattern[(l * heads + h) % everyPattern.length],
      })),
    })),
  };
}

export interface HostileCase {
  name: string;
  /** The file's text. */
  text: string;
  kind: PatternFileErrorKind;
  /** The JSON path both loaders name ('' for the whole file). */
  where: string;
  /** Whether the JSON Schema alone refuses it. */
  schemaRefuses: boolean;
}

/** Variants of a valid searched file (with calibration and search), each broken in one way. */
export function hostileCases(valid: Json): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (
    name: string,
    kind: PatternFileErrorKind,
    where: string,
    schemaRefuses: boolean,
    mutate: (f: Json) => void,
  ) => {
    const f = clone(valid);
    mutate(f);
    cases.push({ name, text: JSON.stringify(f), kind, where, schemaRefuses });
  };
  add('an unknown pattern', 'UnknownPattern', 'layers[1].heads[2].pattern', true, (f) => {
    head(f, 1, 2).pattern = 'diagonal';
  });
  add(
    'a negative fraction in a candidate',
    'NegativeBudget',
    'search.candidates[0].budgets.local_tokens.fraction',
    true,
    (f) => {
      ((f.search as Json).candidates as Json[])[0] = {
        pattern: 'a_shape',
        budgets: { sink_tokens: { count: 64 }, local_tokens: { fraction: -0.5 } },
      };
    },
  );
  add(
    'a negative head budget',
    'NegativeBudget',
    'layers[0].heads[0].budgets.top_k_blocks.count',
    true,
    (f) => {
      Object.assign(head(f, 0, 0), { pattern: 'block_sparse', budgets: { top_k_blocks: { count: -3 } } });
    },
  );
  add('a fraction above 1', 'InvalidField', 'layers[0].heads[1].budgets.top_k_blocks.fraction', true, (f) => {
    Object.assign(head(f, 0, 1), { pattern: 'block_sparse', budgets: { top_k_blocks: { fraction: 1.5 } } });
  });
  add('a budget of two forms', 'InvalidField', 'layers[0].heads[1].budgets.top_k_blocks', true, (f) => {
    Object.assign(head(f, 0, 1), {
      pattern: 'block_sparse',
      budgets: { top_k_blocks: { count: 3, fraction: 0.5 } },
    });
  });
  add("another pattern's budgets", 'InvalidField', 'layers[2].heads[0].budgets.top_k_blocks', true, (f) => {
    Object.assign(head(f, 2, 0), { pattern: 'a_shape', budgets: { top_k_blocks: { fraction: 0.5 } } });
  });
  add('a missing budget', 'InvalidField', 'layers[2].heads[1].budgets.slash', true, (f) => {
    Object.assign(head(f, 2, 1), { pattern: 'vertical_slash', budgets: { vertical: { count: 30 } } });
  });
  add(
    'grid lines as a fraction',
    'InvalidField',
    'layers[1].heads[0].budgets.grid_lines.fraction',
    true,
    (f) => {
      Object.assign(head(f, 1, 0), {
        pattern: 'grid',
        budgets: { sink_tokens: { count: 64 }, local_tokens: { count: 64 }, grid_lines: { fraction: 0.5 } },
      });
    },
  );
  add('an unknown key in a head', 'InvalidField', 'layers[0].heads[3].comment', true, (f) => {
    head(f, 0, 3).comment = 'hand-tuned';
  });
  add('an unknown key at the top', 'InvalidField', 'generator', true, (f) => {
    f.generator = 'someone else';
  });
  add('a recall above 1', 'InvalidField', 'layers[1].heads[1].calibration.recall', true, (f) => {
    head(f, 1, 1).calibration = { recall: 1.2, density: 0.5, cost: 0.5 };
  });
  add('a cost above 8', 'InvalidField', 'layers[1].heads[1].calibration.cost', true, (f) => {
    head(f, 1, 1).calibration = { recall: 0.9, density: 0.5, cost: 9 };
  });
  add('a config hash that is not hex', 'InvalidField', 'model.config_sha256', true, (f) => {
    (f.model as Json).config_sha256 = 'XYZ';
  });
  add('a layer count given as text', 'InvalidField', 'model.layers', true, (f) => {
    (f.model as Json).layers = '3';
  });
  add('another format', 'UnsupportedVersion', '', true, (f) => {
    f.format = 'minference-config';
  });
  add('a newer schema version', 'UnsupportedVersion', '', true, (f) => {
    f.schema_version = 2;
  });
  const model = valid.model as Json;
  add('one layer too many', 'WrongShape', 'layers', false, (f) => {
    const layers = f.layers as Json[];
    layers.push({ ...clone(layers.at(-1)!), layer: layers.length });
  });
  add('a layer short of heads', 'WrongShape', 'layers[1].heads', false, (f) => {
    ((f.layers as Json[])[1]!.heads as Json[]).pop();
  });
  add('heads out of order', 'WrongShape', 'layers[0].heads[0].head', false, (f) => {
    head(f, 0, 0).head = 1;
  });
  add('heads not a multiple of kv_heads', 'InvalidField', 'model.kv_heads', false, (f) => {
    (f.model as Json).kv_heads = (model.heads as number) - 1;
  });
  add('more video tokens than tokens', 'InvalidField', 'calibration.inputs[0].video_tokens', false, (f) => {
    const input = ((f.calibration as Json).inputs as Json[])[0]!;
    input.video_tokens = (input.tokens as number) + 1;
  });
  cases.push({
    name: 'not JSON',
    text: JSON.stringify(valid).slice(0, 200),
    kind: 'InvalidJson',
    where: '',
    schemaRefuses: true,
  });
  cases.push({
    name: 'a JSON array',
    text: '[]',
    kind: 'UnsupportedVersion',
    where: '',
    schemaRefuses: true,
  });
  return cases;
}

/** The same file made for another model: its sizes (refused whatever the config) or only its config hash. */
export function otherModelCases(
  valid: Json,
): { name: string; text: string; where: string; sameSizes: boolean }[] {
  const otherHeads = clone(valid);
  const m = otherHeads.model as Json;
  m.heads = (m.heads as number) * 2;
  m.kv_heads = (m.kv_heads as number) * 2;
  for (const layer of otherHeads.layers as Json[]) {
    const heads = layer.heads as Json[];
    layer.heads = [...heads, ...heads.map((h) => ({ ...clone(h), head: (h.head as number) + heads.length }))];
  }
  const otherConfig = clone(valid);
  (otherConfig.model as Json).config_sha256 = 'b'.repeat(64);
  return [
    {
      name: 'a model with twice the heads',
      text: JSON.stringify(otherHeads),
      where: 'model.heads',
      sameSizes: false,
    },
    {
      name: 'another checkpoint (config.json differs)',
      text: JSON.stringify(otherConfig),
      where: 'model.config_sha256',
      sameSizes: true,
    },
  ];
}
