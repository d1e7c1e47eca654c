// Hostile model folders on the app's side: copies of the tiny-a fixture damaged one way each. The prompt files
// (config.json, tokenizer.json, tokenizer_config.json, chat_template.json) as the family loader reads them must
// give a PromptFilesError naming the damaged file — never a hang (FIFOs), a silent U+FFFD (bytes that are not
// UTF-8) or a read outside the folder (each link leads to a valid copy, so following it would load). Then the
// engine runner's inspect (native load, then the prompt rules) turns native and prompt-file damage alike into
// the app's MODEL_INVALID / FILE_NOT_FOUND naming the file. The native loader's own 100+ cases are
// test/native/runtime/hostile_folder_test.cpp.
import { execFileSync } from 'node:child_process';
import {
  cp,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  symlink,
  truncate,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AppError } from '../../../app/contract/errors.js';
import { engineError } from '../../../main/services/engine/errors.js';
import { EngineRunner } from '../../../main/services/engine/runner.js';
import { PromptFilesError } from '../../../models/family.js';
import { loadPromptRules } from '../../../models/families.js';
import { fixturesDir } from '../../support/preprocess-tables.js';

interface Folder {
  model: string;
  outside: string;
}

type Damage = (f: Folder) => Promise<void>;

let scratch: string;
let counter = 0;

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'mmi-hostile-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function damaged(damage: Damage): Promise<Folder> {
  const root = path.join(scratch, String(counter++));
  const f = { model: path.join(root, 'model'), outside: path.join(root, 'outside') };
  const source = path.join(fixturesDir, 'tiny-a', 'model');
  await cp(source, f.model, { recursive: true });
  await cp(source, f.outside, { recursive: true });
  await damage(f);
  return f;
}

const write =
  (name: string, bytes: string | Uint8Array): Damage =>
  (f) =>
    writeFile(path.join(f.model, name), bytes);
const remove =
  (name: string): Damage =>
  (f) =>
    unlink(path.join(f.model, name));
const edit =
  (name: string, from: string, to: string): Damage =>
  async (f) => {
    const file = path.join(f.model, name);
    const text = await readFile(file, 'utf8');
    if (!text.includes(from)) throw new Error(`${name} lacks ${from}`);
    await writeFile(file, text.replace(from, to));
  };
const editJson =
  (name: string, change: (json: Record<string, unknown>) => void): Damage =>
  async (f) => {
    const file = path.join(f.model, name);
    const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    change(json);
    await writeFile(file, JSON.stringify(json));
  };
const linkOut =
  (name: string): Damage =>
  async (f) => {
    await unlink(path.join(f.model, name));
    await symlink(path.join(f.outside, name), path.join(f.model, name));
  };
const linkTo =
  (name: string, target: string): Damage =>
  async (f) => {
    await unlink(path.join(f.model, name));
    await symlink(target, path.join(f.model, name));
  };
const fifo =
  (name: string): Damage =>
  async (f) => {
    await unlink(path.join(f.model, name));
    execFileSync('mkfifo', [path.join(f.model, name)]);
  };
const directory =
  (name: string): Damage =>
  async (f) => {
    await unlink(path.join(f.model, name));
    await mkdir(path.join(f.model, name));
  };
const grow =
  (name: string, bytes: number): Damage =>
  (f) =>
    truncate(path.join(f.model, name), bytes);
const latin1 =
  (name: string): Damage =>
  async (f) => {
    const file = path.join(f.model, name);
    const text = await readFile(file, 'utf8');
    const at = text.indexOf('"', text.indexOf(':'));
    await writeFile(
      file,
      Buffer.concat([
        Buffer.from(text.slice(0, at + 1)),
        Buffer.from([0xe9]),
        Buffer.from(text.slice(at + 1)),
      ]),
    );
  };
const utf16 =
  (name: string): Damage =>
  async (f) => {
    const file = path.join(f.model, name);
    await writeFile(
      file,
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(await readFile(file, 'utf8'), 'utf16le')]),
    );
  };

type Code = 'MODEL_FILE_MISSING' | 'MODEL_FILE_INVALID';

/** name, damage, the file the error must name, its code. */
const promptCases: [string, Damage, string, Code][] = [];
for (const file of ['tokenizer.json', 'tokenizer_config.json', 'config.json']) {
  promptCases.push(
    [`${file} absent`, remove(file), file, 'MODEL_FILE_MISSING'],
    [`${file} zero bytes`, write(file, ''), file, 'MODEL_FILE_INVALID'],
    [`${file} not JSON`, write(file, 'vocab = {a: 1}\n'), file, 'MODEL_FILE_INVALID'],
    [
      `${file} cut in half`,
      async (f) => {
        const p = path.join(f.model, file);
        const text = await readFile(p, 'utf8');
        await writeFile(p, text.slice(0, text.length / 2));
      },
      file,
      'MODEL_FILE_INVALID',
    ],
    [`${file} a Latin-1 byte`, latin1(file), file, 'MODEL_FILE_INVALID'],
    [`${file} UTF-16`, utf16(file), file, 'MODEL_FILE_INVALID'],
    [
      `${file} nested 1000000 deep`,
      write(file, '['.repeat(1_000_000) + ']'.repeat(1_000_000)),
      file,
      'MODEL_FILE_INVALID',
    ],
    [`${file} larger than 64 MiB`, grow(file, 64 * 1024 * 1024 + 1), file, 'MODEL_FILE_INVALID'],
    [`${file} a link out of the folder`, linkOut(file), file, 'MODEL_FILE_INVALID'],
    [`${file} a link to /etc/passwd`, linkTo(file, '/etc/passwd'), file, 'MODEL_FILE_INVALID'],
    [`${file} a dangling link`, linkTo(file, 'gone.json'), file, 'MODEL_FILE_MISSING'],
    [`${file} a FIFO (must not block)`, fifo(file), file, 'MODEL_FILE_INVALID'],
    [`${file} a directory`, directory(file), file, 'MODEL_FILE_INVALID'],
    [`${file} a JSON array`, write(file, '[]'), file, 'MODEL_FILE_INVALID'],
  );
}
promptCases.push(
  ['tokenizer.json null', write('tokenizer.json', 'null'), 'tokenizer.json', 'MODEL_FILE_INVALID'],
  ['tokenizer.json an empty object', write('tokenizer.json', '{}'), 'tokenizer.json', 'MODEL_FILE_INVALID'],
  [
    'tokenizer.json without a model',
    editJson('tokenizer.json', (j) => delete j.model),
    'tokenizer.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer.json an unknown model type',
    editJson('tokenizer.json', (j) => {
      (j.model as Record<string, unknown>).type = 'Quantum';
    }),
    'tokenizer.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer.json vocab a string',
    editJson('tokenizer.json', (j) => {
      (j.model as Record<string, unknown>).vocab = 'abc';
    }),
    'tokenizer.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer.json merges a number',
    editJson('tokenizer.json', (j) => {
      (j.model as Record<string, unknown>).merges = 5;
    }),
    'tokenizer.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer.json a token id negative',
    editJson('tokenizer.json', (j) => {
      const vocab = (j.model as { vocab: Record<string, number> }).vocab;
      vocab[Object.keys(vocab)[0]!] = -1;
    }),
    'tokenizer.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer.json added_tokens a number',
    editJson('tokenizer.json', (j) => {
      j.added_tokens = 7;
    }),
    'tokenizer.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer.json without <|video_pad|>',
    editJson('tokenizer.json', (j) => {
      j.added_tokens = (j.added_tokens as { content: string }[]).filter((t) => t.content !== '<|video_pad|>');
    }),
    'tokenizer.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer.json <|video_pad|> on another id',
    editJson('tokenizer.json', (j) => {
      for (const t of j.added_tokens as { content: string; id: number }[])
        if (t.content === '<|video_pad|>') t.id = 5;
    }),
    'tokenizer.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer_config.json chat_template a number',
    editJson('tokenizer_config.json', (j) => {
      j.chat_template = 42;
    }),
    'tokenizer_config.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer_config.json chat_template not Jinja',
    editJson('tokenizer_config.json', (j) => {
      j.chat_template = '{% for message in %}{{ }}';
    }),
    'tokenizer_config.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer_config.json no chat_template anywhere',
    editJson('tokenizer_config.json', (j) => {
      delete j.chat_template;
    }),
    'tokenizer_config.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'chat_template.json garbage',
    async (f) => {
      await editJson('tokenizer_config.json', (j) => delete j.chat_template)(f);
      await writeFile(path.join(f.model, 'chat_template.json'), '{"chat_template": ');
    },
    'chat_template.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'chat_template.json a link out of the folder',
    async (f) => {
      await editJson('tokenizer_config.json', (j) => delete j.chat_template)(f);
      await writeFile(path.join(f.outside, 'chat_template.json'), '{"chat_template": "{{ messages }}"}');
      await symlink(path.join(f.outside, 'chat_template.json'), path.join(f.model, 'chat_template.json'));
    },
    'chat_template.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'tokenizer_config.json eos_token a number',
    editJson('tokenizer_config.json', (j) => {
      j.eos_token = 332;
    }),
    'tokenizer_config.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'config.json another family',
    edit('config.json', '"model_type": "qwen2_5_vl",\n  "bos', '"model_type": "llava",\n  "bos'),
    'config.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'config.json video_token_id negative',
    edit('config.json', '"video_token_id": 343', '"video_token_id": -343'),
    'config.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'config.json video_token_id not the tokenizer’s',
    edit('config.json', '"video_token_id": 343', '"video_token_id": 341'),
    'tokenizer.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'config.json tokens_per_second zero',
    edit('config.json', '"tokens_per_second": 2', '"tokens_per_second": 0'),
    'config.json',
    'MODEL_FILE_INVALID',
  ],
  [
    'config.json vision_config a string',
    edit('config.json', '"vision_config": {', '"vision_config": "x", "v": {'),
    'config.json',
    'MODEL_FILE_INVALID',
  ],
);

describe('hostile prompt files: a PromptFilesError naming the file', () => {
  it.each(promptCases)('%s', async (_name, damage, file, code) => {
    const f = await damaged(damage);
    const error = await loadPromptRules(f.model).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PromptFilesError);
    expect((error as PromptFilesError).file).toBe(file);
    expect((error as PromptFilesError).code).toBe(code);
  });

  it('a Hugging Face cache snapshot, whose files link into blobs/, still loads', async () => {
    const repo = path.join(scratch, 'models--tiny--a');
    const snapshot = path.join(repo, 'snapshots', 'abc123');
    await mkdir(snapshot, { recursive: true });
    await mkdir(path.join(repo, 'blobs'));
    for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) {
      await cp(path.join(fixturesDir, 'tiny-a', 'model', name), path.join(repo, 'blobs', `blob-${name}`));
      await symlink(path.join('..', '..', 'blobs', `blob-${name}`), path.join(snapshot, name));
    }
    const rules = await loadPromptRules(snapshot);
    expect(rules.stopIds.length).toBeGreaterThan(0);
    // refs/ is no blob store: a link there leads out of the folder.
    await mkdir(path.join(repo, 'refs'));
    await rename(path.join(repo, 'blobs', 'blob-config.json'), path.join(repo, 'refs', 'config.json'));
    await unlink(path.join(snapshot, 'config.json'));
    await symlink(path.join('..', '..', 'refs', 'config.json'), path.join(snapshot, 'config.json'));
    await expect(loadPromptRules(snapshot)).rejects.toThrow(/outside the model folder/);
  });
});

/** Damage the native loader sees first, and damage only the prompt files show: both reach the app typed. */
const engineCases: [string, Damage, 'MODEL_INVALID' | 'FILE_NOT_FOUND', string][] = [
  ['weights a link out of the folder', linkOut('model.safetensors'), 'MODEL_INVALID', 'model.safetensors'],
  [
    'weights truncated',
    async (f) => {
      await truncate(path.join(f.model, 'model.safetensors'), 100_000);
    },
    'MODEL_INVALID',
    'model.safetensors',
  ],
  ['weights zero bytes', write('model.safetensors', ''), 'MODEL_INVALID', 'model.safetensors'],
  ['weights a FIFO', fifo('model.safetensors'), 'MODEL_INVALID', 'model.safetensors'],
  ['weights absent', remove('model.safetensors'), 'FILE_NOT_FOUND', 'model.safetensors'],
  ['config.json a link to /etc/passwd', linkTo('config.json', '/etc/passwd'), 'MODEL_INVALID', 'config.json'],
  [
    'config.json a token id wrapping int32',
    edit('config.json', '"video_token_id": 343', '"video_token_id": 4294967639'),
    'MODEL_INVALID',
    'config.json',
  ],
  [
    'config.json num_hidden_layers 2^31',
    edit('config.json', '"num_hidden_layers": 3', '"num_hidden_layers": 2147483648'),
    'MODEL_INVALID',
    'model.safetensors',
  ],
  [
    'tokenizer.json garbage',
    write('tokenizer.json', '\u0000\u0001garbage'),
    'MODEL_INVALID',
    'tokenizer.json',
  ],
  ['tokenizer.json a link out of the folder', linkOut('tokenizer.json'), 'MODEL_INVALID', 'tokenizer.json'],
];

describe('hostile model folders through the engine runner: the app’s typed error naming the file', () => {
  const runner = new EngineRunner();
  it.each(engineCases)('%s', async (_name, damage, code, file) => {
    const f = await damaged(damage);
    const error = engineError(
      await runner.inspect({ dir: f.model, threads: 1, device: 'cpu' }, null).then(
        () => null,
        (e: unknown) => e,
      ),
    );
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe(code);
    expect(`${(error as AppError).message} ${(error as AppError).detail ?? ''}`).toContain(file);
  });
});
