// The prompt rules on the fixture model folders: chat template through @huggingface/jinja and tokenizer through
// @huggingface/tokenizers must give exactly the ids the transformers reference pre-filled.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import {
  answerText,
  buildPrompt,
  decodeIds,
  encodeText,
  followUpIds,
  loadPromptRules,
  renderChat,
  secondPerGrid,
} from '../../../models/qwen2_5_vl/prompt.js';
import { PromptFilesError } from '../../../models/family.js';
import { familyOf, loadPromptRules as loadFamilyRules } from '../../../models/families.js';
import {
  fixtureNames,
  fixturesDir,
  readJson,
  referenceInts,
  type FixtureMeta,
} from '../../support/preprocess-tables.js';

describe('Qwen2.5-VL prompt rules on the fixture folders', () => {
  for (const name of fixtureNames) {
    it(`${name}: template, tokens, video expansion and positions equal the reference`, async () => {
      const meta = readJson<FixtureMeta>(name, 'meta.json');
      const rules = await loadPromptRules(path.join(fixturesDir, name, 'model'));
      expect(renderChat(rules, meta.prompt.messages, true)).toBe(meta.prompt.text);
      expect(encodeText(rules, meta.prompt.text)).toEqual(meta.prompt.template_ids);

      const [t, h, w] = meta.video.grid_thw;
      const spg = secondPerGrid(rules, meta.video.sample_fps);
      expect(spg).toBe(meta.video.second_per_grid_t);
      const prompt = buildPrompt(rules, meta.prompt.messages, [{ t, h, w, secondPerGrid: spg }]);
      expect(prompt.ids).toEqual(referenceInts(name, 'input_ids').values);
      const pos = referenceInts(name, 'position_ids').values;
      const n = prompt.ids.length;
      expect(prompt.positions.rows).toEqual([pos.slice(0, n), pos.slice(n, 2 * n), pos.slice(2 * n)]);
      expect(prompt.positions.ropeDelta).toBe(referenceInts(name, 'rope_deltas').values[0]);

      expect(rules.stopIds).toContain(meta.special_token_ids['<|im_end|>']);
      expect(rules.stopIds).toContain(meta.special_token_ids['<|endoftext|>']);
      expect(decodeIds(rules, meta.greedy.tokens, false)).toBe(meta.greedy.text);
    });

    it(`${name}: answers decode as transformers does, with <0xHH> where it puts U+FFFD`, async () => {
      const meta = readJson<FixtureMeta>(name, 'meta.json');
      const rules = await loadPromptRules(path.join(fixturesDir, name, 'model'));
      const special = new Set(Object.values(meta.special_token_ids));
      const answer = meta.greedy.tokens.filter((id) => !special.has(id));
      let reference = meta.greedy.text;
      for (const name of Object.keys(meta.special_token_ids)) reference = reference.split(name).join('');
      const ours = answerText(rules, answer);
      expect(ours).not.toContain('\uFFFD');
      // Each run of undecodable bytes stands where the reference has a run of replacement characters.
      expect(ours.replace(/(<0x[0-9A-F]{2}>)+/g, '#')).toBe(reference.replace(/\uFFFD+/g, '#'));
      // Text the tokenizer encodes itself comes back byte for byte.
      const text = 'A café — 猫 🐈 <|im_end|> moves.';
      expect(answerText(rules, encodeText(rules, text))).toBe(text.replace('<|im_end|>', ''));
    });
  }

  it('the services reach the rules through the family registry: the same ids, positions and stops', async () => {
    for (const name of fixtureNames) {
      const dir = path.join(fixturesDir, name, 'model');
      expect((await familyOf(dir)).modelType).toBe('qwen2_5_vl');
      const meta = readJson<FixtureMeta>(name, 'meta.json');
      const rules = await loadFamilyRules(dir);
      const [t, h, w] = meta.video.grid_thw;
      const [message] = meta.prompt.messages;
      const question = Array.isArray(message?.content)
        ? (message.content.find((c) => c.type === 'text') as { text: string } | undefined)?.text
        : undefined;
      if (question === undefined) throw new Error(`${name}: the fixture's prompt has no question`);
      expect(meta.prompt.messages).toEqual([
        { role: 'user', content: [{ type: 'video' }, { type: 'text', text: question }] },
      ]);
      const prompt = rules.videoQuestion({ t, h, w, sampleFps: meta.video.sample_fps }, question);
      expect(prompt.ids).toEqual(referenceInts(name, 'input_ids').values);
      const pos = referenceInts(name, 'position_ids').values;
      const n = prompt.ids.length;
      expect(prompt.positions).toEqual([pos.slice(0, n), pos.slice(n, 2 * n), pos.slice(2 * n)]);
      expect(rules.stopIds).toContain(meta.special_token_ids['<|im_end|>']);
    }
    const other = await mkdtemp(path.join(tmpdir(), 'mmi-family-'));
    try {
      await writeFile(path.join(other, 'config.json'), '{"model_type": "llava"}');
      await expect(familyOf(other)).rejects.toMatchObject({
        code: 'MODEL_FILE_INVALID',
        file: 'config.json',
      });
      await expect(familyOf(path.join(other, 'none'))).rejects.toMatchObject({ code: 'MODEL_FILE_MISSING' });
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('a follow-up adds only the new turn, closing an unfinished answer first', async () => {
    const rules = await loadPromptRules(path.join(fixturesDir, 'tiny-a', 'model'));
    const history = [
      {
        role: 'user' as const,
        content: [{ type: 'video' as const }, { type: 'text' as const, text: 'What is moving?' }],
      },
      { role: 'assistant' as const, content: 'A red square.' },
    ];
    const ended = followUpIds(rules, history, 'Which way?', true);
    expect(decodeIds(rules, ended, false)).toBe(
      '\n<|im_start|>user\nWhich way?<|im_end|>\n<|im_start|>assistant\n',
    );
    const open = followUpIds(rules, history, 'Which way?', false);
    expect(decodeIds(rules, open, false)).toBe(
      '<|im_end|>\n<|im_start|>user\nWhich way?<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(() => followUpIds(rules, history.slice(0, 1), 'x', true)).toThrow(RangeError);
  });
});

describe('Qwen2.5-VL prompt files that are missing or wrong', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  async function damaged(edit: (dir: string) => Promise<void>): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'mmi-prompt-'));
    dirs.push(dir);
    await cp(path.join(fixturesDir, 'tiny-a', 'model'), dir, { recursive: true });
    await edit(dir);
    return dir;
  }

  async function failure(dir: string): Promise<PromptFilesError> {
    try {
      await loadPromptRules(dir);
    } catch (err) {
      if (err instanceof PromptFilesError) return err;
      throw err;
    }
    throw new Error('loadPromptRules accepted a damaged folder');
  }

  it('names the file and what is wrong', async () => {
    let e = await failure(await damaged((d) => rm(path.join(d, 'tokenizer.json'))));
    expect([e.code, e.file]).toEqual(['MODEL_FILE_MISSING', 'tokenizer.json']);

    e = await failure(
      await damaged((d) => writeFile(path.join(d, 'tokenizer_config.json'), '{"chat_template": 3}')),
    );
    expect([e.code, e.file]).toEqual(['MODEL_FILE_INVALID', 'tokenizer_config.json']);
    expect(e.message).toContain('chat_template');

    e = await failure(
      await damaged((d) => writeFile(path.join(d, 'config.json'), '{"model_type": "qwen2_5_vl",')),
    );
    expect([e.code, e.file]).toEqual(['MODEL_FILE_INVALID', 'config.json']);

    e = await failure(
      await damaged(async (d) => {
        const cfg = JSON.parse(await readFile(path.join(d, 'config.json'), 'utf8')) as Record<
          string,
          unknown
        >;
        cfg.video_token_id = 5;
        await writeFile(path.join(d, 'config.json'), JSON.stringify(cfg));
      }),
    );
    expect(e.message).toContain('<|video_pad|>');

    e = await failure(
      await damaged(async (d) => {
        const tc = JSON.parse(await readFile(path.join(d, 'tokenizer_config.json'), 'utf8')) as Record<
          string,
          unknown
        >;
        delete tc.chat_template;
        await writeFile(path.join(d, 'tokenizer_config.json'), JSON.stringify(tc));
      }),
    );
    expect(e.message).toContain('chat_template');
  });

  it('reads the template from chat_template.json when tokenizer_config.json has none', async () => {
    const meta = readJson<FixtureMeta>('tiny-a', 'meta.json');
    const dir = await damaged(async (d) => {
      const tc = JSON.parse(await readFile(path.join(d, 'tokenizer_config.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      await writeFile(
        path.join(d, 'chat_template.json'),
        JSON.stringify({ chat_template: tc.chat_template }),
      );
      delete tc.chat_template;
      await writeFile(path.join(d, 'tokenizer_config.json'), JSON.stringify(tc));
    });
    const rules = await loadPromptRules(dir);
    expect(renderChat(rules, meta.prompt.messages, true)).toBe(meta.prompt.text);
  });
});
