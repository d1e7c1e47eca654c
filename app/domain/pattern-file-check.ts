import type { z } from 'zod';
import { patternNames } from '../contract/engine.js';
import {
  PatternFileSchema,
  patternFileFormat,
  patternSchemaVersion,
  type PatternFile,
} from '../contract/pattern-file.js';

// Reading a pattern file on the TypeScript side as strictly as the native loader does (native/patterns/README.md):
// the format and version first, then every field against the schema, then what a schema cannot say (layer and
// head counts, `heads` a multiple of `kv_heads`, video_tokens ≤ tokens), then, when a model is given, that the
// file was made for it. Errors carry the native loader's kinds and JSON paths, e.g.
//   UnknownPattern: patterns.json: layers[3].heads[1].pattern: 'diagonal' is not a pattern (dense, a_shape, ...)

export const patternFileErrorKinds = [
  'InvalidJson',
  'UnsupportedVersion',
  'InvalidField',
  'UnknownPattern',
  'WrongShape',
  'NegativeBudget',
  'WrongModel',
] as const;
export type PatternFileErrorKind = (typeof patternFileErrorKinds)[number];

export class PatternFileError extends Error {
  override readonly name = 'PatternFileError';
  constructor(
    readonly kind: PatternFileErrorKind,
    readonly file: string,
    /** The JSON path, e.g. layers[3].heads[1].budgets.vertical.count; '' for the whole file. */
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${kind}: ${file ? `${file}: ` : ''}${where ? `${where}: ` : ''}${detail}`);
  }
}

/** What a file must match to be used with a model (the native ModelIdentity). */
export interface PatternModelIdentity {
  family: string;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** SHA-256 of the model folder's config.json, lowercase hex. */
  configSha256: string;
}

export interface CheckOptions {
  /** Refuse a file whose config.json hash differs (default); false accepts another checkpoint of the same sizes. */
  requireSameConfig?: boolean;
}

/** A zod issue path as the native loader writes it: `layers[3].heads[1].pattern`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const part of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[part];
  }
  return node;
}

function classify(root: unknown, issue: z.core.$ZodIssue, file: string): PatternFileError {
  const where = jsonPath(issue.path);
  const value = valueAt(root, issue.path);
  if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator === 'pattern') {
    return typeof value === 'string'
      ? new PatternFileError(
          'UnknownPattern',
          file,
          where,
          `'${value}' is not a pattern (${patternNames.join(', ')})`,
        )
      : new PatternFileError(
          'InvalidField',
          file,
          where,
          value === undefined ? 'missing' : 'expected a string',
        );
  }
  if (
    issue.code === 'too_small' &&
    typeof value === 'number' &&
    value < 0 &&
    issue.path.includes('budgets')
  ) {
    return new PatternFileError('NegativeBudget', file, where, `a budget cannot be negative (${value})`);
  }
  if (issue.code === 'unrecognized_keys') {
    const [key] = issue.keys;
    return new PatternFileError(
      'InvalidField',
      file,
      jsonPath([...issue.path, key ?? '']),
      'not a field of the pattern file schema here',
    );
  }
  if (issue.code === 'invalid_type' && value === undefined) {
    return new PatternFileError('InvalidField', file, where, 'missing');
  }
  return new PatternFileError('InvalidField', file, where, issue.message);
}

function isPrefix(prefix: readonly PropertyKey[], path: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((part, i) => part === path[i]);
}

/**
 * The issue the native loader would report: it walks the file depth first and checks an object's keys before its
 * fields, while zod lists an object's unknown keys after its fields' issues. So an unknown key in an object that
 * holds zod's first issue comes first (the outermost such object).
 */
export function firstIssue(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue | undefined {
  const [first] = issues;
  if (!first) return undefined;
  const unknownKeys = issues
    .filter((i) => i.code === 'unrecognized_keys' && isPrefix(i.path, first.path))
    .sort((a, b) => a.path.length - b.path.length);
  return unknownKeys[0] ?? first;
}

/** The counts the schema cannot check: every layer and head listed once, in order, for the file's model. */
function checkShape(f: PatternFile, file: string): void {
  const { model } = f;
  if (model.heads % model.kv_heads !== 0) {
    throw new PatternFileError(
      'InvalidField',
      file,
      'model.kv_heads',
      'heads must be a multiple of kv_heads',
    );
  }
  f.calibration?.inputs.forEach((input, i) => {
    if (input.video_tokens > input.tokens) {
      throw new PatternFileError(
        'InvalidField',
        file,
        `calibration.inputs[${i}].video_tokens`,
        `${input.video_tokens} video tokens in a prompt of ${input.tokens}`,
      );
    }
  });
  if (f.layers.length !== model.layers) {
    throw new PatternFileError(
      'WrongShape',
      file,
      'layers',
      `${f.layers.length} layers, but model.layers is ${model.layers}`,
    );
  }
  f.layers.forEach((layer, l) => {
    if (layer.layer !== l) {
      throw new PatternFileError(
        'WrongShape',
        file,
        `layers[${l}].layer`,
        `layers must be listed in order (expected ${l})`,
      );
    }
    if (layer.heads.length !== model.heads) {
      throw new PatternFileError(
        'WrongShape',
        file,
        `layers[${l}].heads`,
        `${layer.heads.length} heads, but model.heads is ${model.heads}`,
      );
    }
    layer.heads.forEach((head, h) => {
      if (head.head !== h) {
        throw new PatternFileError(
          'WrongShape',
          file,
          `layers[${l}].heads[${h}].head`,
          `heads must be listed in order (expected ${h})`,
        );
      }
    });
  });
}

/** A parsed JSON value as a pattern file; throws PatternFileError. */
export function checkPatternFile(root: unknown, file = 'pattern file'): PatternFile {
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new PatternFileError('UnsupportedVersion', file, '', 'not a pattern file (expected a JSON object)');
  }
  const record = root as Record<string, unknown>;
  if (record.format !== patternFileFormat) {
    throw new PatternFileError(
      'UnsupportedVersion',
      file,
      '',
      `not a pattern file ("format" must be "${patternFileFormat}")`,
    );
  }
  if (record.schema_version !== patternSchemaVersion) {
    const theirs = Number.isInteger(record.schema_version)
      ? ` (this file has ${String(record.schema_version)})`
      : '';
    throw new PatternFileError(
      'UnsupportedVersion',
      file,
      '',
      `schema_version must be ${patternSchemaVersion}${theirs}`,
    );
  }
  const parsed = PatternFileSchema.safeParse(root);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error.issues);
    throw issue
      ? classify(root, issue, file)
      : new PatternFileError('InvalidField', file, '', parsed.error.message);
  }
  checkShape(parsed.data, file);
  return parsed.data;
}

/** A pattern file's text, read and checked; throws PatternFileError. */
export function parsePatternFile(text: string, file = 'pattern file'): PatternFile {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (err) {
    throw new PatternFileError('InvalidJson', file, '', err instanceof Error ? err.message : String(err));
  }
  return checkPatternFile(root, file);
}

/** Throws WrongModel naming the first field that differs (sizes always; the config hash unless told not to). */
export function checkPatternModel(
  f: PatternFile,
  model: PatternModelIdentity,
  options: CheckOptions = {},
  file = 'pattern file',
): void {
  const theirs = f.model;
  const fields: [string, string | number, string | number][] = [
    ['family', theirs.family, model.family],
    ['layers', theirs.layers, model.layers],
    ['heads', theirs.heads, model.heads],
    ['kv_heads', theirs.kv_heads, model.kvHeads],
    ['head_dim', theirs.head_dim, model.headDim],
  ];
  if (options.requireSameConfig ?? true)
    fields.push(['config_sha256', theirs.config_sha256, model.configSha256]);
  for (const [field, ours, model_] of fields) {
    if (ours !== model_) {
      throw new PatternFileError(
        'WrongModel',
        file,
        `model.${field}`,
        `the file was made for a model with ${field} ${ours}, this model has ${model_}`,
      );
    }
  }
}
