// The tokenizer loading path fuzzed: tiny-a's config.json, tokenizer.json and tokenizer_config.json, one mutated
// at a time with seeded structural and byte-level mutations (test/support/mutate.ts), through the family loader.
// Each folder must load or be refused with a PromptFilesError naming one of its files — no other exception, no
// hang — and a folder that loads must encode and decode text without throwing.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { PromptFilesError } from '../../../models/family.js';
import { loadPromptRules } from '../../../models/families.js';
import { mutateBytes, mutateJson, pick, rng } from '../../support/mutate.js';
import { fixturesDir } from '../../support/preprocess-tables.js';

const iterations = 600;
const files = ['config.json', 'tokenizer.json', 'tokenizer_config.json'] as const;

let dir: string;
const originals = new Map<string, Uint8Array>();

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'mmi-prompt-fuzz-'));
  await cp(path.join(fixturesDir, 'tiny-a', 'model'), dir, { recursive: true });
  for (const f of files) originals.set(f, await readFile(path.join(dir, f)));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the prompt files under mutation', () => {
  it('load, or fail with a PromptFilesError naming a file of the folder', async () => {
    const r = rng(97);
    let loaded = 0;
    let refused = 0;
    for (let i = 0; i < iterations; i++) {
      const file = files[i % files.length]!;
      const original = originals.get(file)!;
      const bytes =
        i % 4 === 3
          ? mutateBytes(r, original, [...originals.values()])
          : new TextEncoder().encode(
              JSON.stringify(mutateJson(r, JSON.parse(new TextDecoder().decode(original)))),
            );
      await writeFile(path.join(dir, file), bytes);
      try {
        const rules = await loadPromptRules(dir);
        const ids = rules.videoQuestion(
          { t: 1, h: 2, w: 2, sampleFps: 2 },
          pick(r, ['What moves?', 'é 猫 🐈', '']),
        );
        expect(ids.ids.length, `iteration ${i}`).toBe(ids.positions[0]!.length);
        rules.answerText(ids.ids);
        loaded++;
      } catch (err) {
        expect(err, `iteration ${i} (${file}): ${String(err)}`).toBeInstanceOf(PromptFilesError);
        expect([...files, 'chat_template.json']).toContain((err as PromptFilesError).file);
        refused++;
      }
      await writeFile(path.join(dir, file), original);
    }
    console.log(`prompt files: ${iterations} mutated folders, ${loaded} loaded, ${refused} refused`);
    expect(loaded + refused).toBe(iterations);
  }, 300_000);
});
