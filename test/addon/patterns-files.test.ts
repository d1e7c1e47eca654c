// The native loader and the TypeScript checks read pattern files alike: each hostile file of the shared corpus is
// refused by the native loader (through the binding, for tiny-a) with the kind and JSON path the TypeScript checks
// give (test/unit/patterns/pattern-file.test.ts), and both accept the valid files.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parsePatternFile, PatternFileError } from '../../app/domain/pattern-file-check.js';
import { MmiError, Model } from '../../native/index.js';
import {
  fixturePatternFile,
  handWritten,
  hostileCases,
  otherModelCases,
  readJsonFile,
} from '../support/pattern-files.js';
import { modelDir } from './model-fixture.js';

const tinyA = readJsonFile(fixturePatternFile('tiny-a'));

describe('the native loader and the TypeScript checks agree on pattern files', () => {
  let model: Model;
  let dir: string;
  let n = 0;

  beforeAll(async () => {
    model = await Model.load(modelDir('tiny-a'), { threads: 1 });
    dir = await mkdtemp(path.join(tmpdir(), 'mmi-pattern-files-'));
  });
  afterAll(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  async function nativeRefusal(text: string, requireSameConfig = true): Promise<MmiError> {
    const file = path.join(dir, `file-${n++}.json`);
    await writeFile(file, text);
    const e = await model.loadPatternFile(file, { requireSameConfig }).then(
      (f) => {
        f.dispose();
        return null;
      },
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(MmiError);
    return e as MmiError;
  }

  it('both accept the hand-written file with every pattern and budget form', async () => {
    const text = JSON.stringify(handWritten(tinyA.model as never));
    const file = path.join(dir, 'every-pattern.json');
    await writeFile(file, text);
    const loaded = await model.loadPatternFile(file);
    const info = model.info();
    expect(loaded.kinds(info.textLayers, info.heads)).toEqual(
      parsePatternFile(text).layers.flatMap((l) => l.heads.map((h) => h.pattern)),
    );
    loaded.dispose();
  });

  it.each(hostileCases(tinyA).map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const e = await nativeRefusal(c.text);
    expect(e.code).toBe('MMI_PATTERN_FILE_INVALID');
    expect({ kind: e.kind, subject: e.subject }).toEqual({
      kind: c.kind,
      subject: c.where === '' ? undefined : c.where,
    });
    let ts: unknown;
    try {
      parsePatternFile(c.text);
    } catch (err) {
      ts = err;
    }
    expect(ts).toBeInstanceOf(PatternFileError);
    expect({ kind: (ts as PatternFileError).kind, where: (ts as PatternFileError).where }).toEqual({
      kind: e.kind,
      where: e.subject ?? '',
    });
  });

  it.each(otherModelCases(tinyA).map((c) => [c.name, c] as const))('refuses %s', async (_name, c) => {
    const e = await nativeRefusal(c.text);
    expect(e).toMatchObject({ code: 'MMI_PATTERN_FILE_INVALID', kind: 'WrongModel', subject: c.where });
    if (c.sameSizes) {
      const file = path.join(dir, 'other-checkpoint.json');
      await writeFile(file, c.text);
      (await model.loadPatternFile(file, { requireSameConfig: false })).dispose();
    }
  });
});
