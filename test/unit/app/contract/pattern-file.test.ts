// The pattern file's zod mirror against its JSON Schema (ajv, draft 2020-12): both accept the searched files of the
// fixtures and hand-written files with every pattern and budget form, and both refuse every hostile variant the
// schema can tell; the TypeScript checks then refuse each hostile file with the native loader's kind and JSON path
// (test/addon/patterns-files.test.ts holds the native loader to the same), and a file made for another model.
import { readFileSync } from 'node:fs';

import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';

import { PatternFileSchema } from '../../../../app/contract/pattern-file.js';
import {
  checkPatternModel,
  parsePatternFile,
  PatternFileError,
  type PatternModelIdentity,
} from '../../../../app/domain/pattern-file-check.js';
import {
  fixturePatternFile,
  handWritten,
  hostileCases,
  otherModelCases,
  patternSchemaPath,
  readJsonFile,
} from '../../../support/pattern-files.js';

const ajv = new Ajv2020({ allErrors: false, strict: true });
const schemaValid = ajv.compile(JSON.parse(readFileSync(patternSchemaPath, 'utf8')) as object);

function verdicts(text: string): { schema: boolean; zod: boolean } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { schema: false, zod: false };
  }
  return { schema: schemaValid(value), zod: PatternFileSchema.safeParse(value).success };
}

function refusal(text: string, identity?: PatternModelIdentity, requireSameConfig = true): PatternFileError {
  try {
    const file = parsePatternFile(text, 'hostile.json');
    if (identity) checkPatternModel(file, identity, { requireSameConfig }, 'hostile.json');
  } catch (err) {
    expect(err).toBeInstanceOf(PatternFileError);
    return err as PatternFileError;
  }
  throw new Error('the file was accepted');
}

const tinyA = readJsonFile(fixturePatternFile('tiny-a'));
const tinyAModel = tinyA.model as Record<string, number | string>;
const identity: PatternModelIdentity = {
  family: tinyAModel.family as string,
  layers: tinyAModel.layers as number,
  heads: tinyAModel.heads as number,
  kvHeads: tinyAModel.kv_heads as number,
  headDim: tinyAModel.head_dim as number,
  configSha256: tinyAModel.config_sha256 as string,
};

describe('pattern file schema: zod and the JSON Schema agree', () => {
  const valid: [string, string][] = [
    ['tiny-a.json (searched)', readFileSync(fixturePatternFile('tiny-a'), 'utf8')],
    ['tiny-b.json (searched)', readFileSync(fixturePatternFile('tiny-b'), 'utf8')],
    ['demo-showcase.json (every family)', readFileSync(fixturePatternFile('demo-showcase'), 'utf8')],
    ['hand-written, every pattern and budget form', JSON.stringify(handWritten(tinyA.model as never))],
  ];
  it.each(valid)('both accept %s, and the checks read it whole', (_name, text) => {
    expect(verdicts(text)).toEqual({ schema: true, zod: true });
    const file = parsePatternFile(text);
    expect(file).toEqual(JSON.parse(text));
  });

  it.each(hostileCases(tinyA).map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const v = verdicts(c.text);
    // The schema refuses what it can say; zod (the schema's mirror) agrees on every file.
    expect(v.schema).toBe(!c.schemaRefuses);
    if (c.kind !== 'UnsupportedVersion' && c.kind !== 'InvalidJson') expect(v.zod).toBe(v.schema);
    const e = refusal(c.text);
    expect({ kind: e.kind, where: e.where }).toEqual({ kind: c.kind, where: c.where });
    expect(e.message).toContain(`${c.kind}: hostile.json`);
  });
});

describe('pattern file against its model', () => {
  it.each(otherModelCases(tinyA).map((c) => [c.name, c] as const))('refuses %s', (_name, c) => {
    const e = refusal(c.text, identity);
    expect({ kind: e.kind, where: e.where }).toEqual({ kind: 'WrongModel', where: c.where });
    expect(e.message).toMatch(/the file was made for a model with/);
    if (c.sameSizes) {
      // Another checkpoint of the same architecture is accepted when asked to.
      expect(() =>
        checkPatternModel(parsePatternFile(c.text), identity, { requireSameConfig: false }),
      ).not.toThrow();
    }
  });

  it('accepts the file of its own model', () => {
    expect(() => checkPatternModel(parsePatternFile(JSON.stringify(tinyA)), identity)).not.toThrow();
  });
});
