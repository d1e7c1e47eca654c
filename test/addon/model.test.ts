// The model runtime through the Node binding, against the transformers reference outputs of the tiny fixtures:
// frames in, vision features, last logits and the 16 greedy tokens out. Plus what the binding promises: typed errors
// naming file and tensor, cancellation between layers leaving the cache untouched, follow-up pre-fills equal to a
// fresh pre-fill of the whole transcript, and an event loop that keeps turning while the engine works.
import { readFileSync } from 'node:fs';
import { copyFile, cp, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { backendInfo, MmiError, Model, type Session } from '../../native/index.js';
import { fixtureNames } from '../support/preprocess-tables.js';
import { modelDir, readReference, relativeError } from './model-fixture.js';

async function rejection(promise: Promise<unknown>): Promise<MmiError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MmiError);
  return error as MmiError;
}

function positionsOf(rows: number[]): BigInt64Array {
  return BigInt64Array.from(rows, (p) => BigInt(p));
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

describe.each(fixtureNames)('%s through the binding', (fixture) => {
  const ref = readReference(fixture);
  let model: Model;
  beforeAll(async () => {
    model = await Model.load(modelDir(fixture), { threads: 2 });
  });
  afterAll(() => model.dispose());

  it('reports the folder as config.json and the weights describe it', () => {
    const info = model.info();
    const config = JSON.parse(readFileSync(path.join(modelDir(fixture), 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const text = (config.text_config ?? config) as Record<string, number>;
    expect(info.family).toBe('qwen2_5_vl');
    expect(info.textLayers).toBe(text.num_hidden_layers);
    expect(info.heads).toBe(text.num_attention_heads);
    expect(info.kvHeads).toBe(text.num_key_value_heads);
    expect(info.hidden).toBe(text.hidden_size);
    expect(info.videoTokenId).toBe(config.video_token_id);
    expect(info.files.length).toBeGreaterThan(0);
    expect(info.dtypes).toEqual(['F32']);
  });

  it('frames → features → logits → 16 greedy tokens as transformers computed them', async () => {
    const [frames, height, width] = ref.shape('frames') as [number, number, number, number];
    const encoder = model.createEncoder(height, width);
    const rgb = ref.u8('frames');
    const frameBytes = height * width * 3;
    const progress: number[] = [];
    // Frames arrive one at a time, as from the decoder.
    for (let f = 0; f < frames; f++) {
      await encoder.push(rgb.subarray(f * frameBytes, (f + 1) * frameBytes), 1, {
        onProgress: (done) => progress.push(done),
      });
    }
    const video = await encoder.finish();
    const [[t, h, w]] = [ref.i64('video_grid_thw')] as unknown as [[number, number, number]];
    expect(video.info()).toMatchObject({ t, h, w, tokens: ref.shape('vision.features')[0] });
    expect(relativeError(video.features(), ref.f32('vision.features'))).toBeLessThan(1e-4);
    expect(progress.at(-1)).toBeGreaterThan(0);

    const ids = Int32Array.from(ref.i64('input_ids'));
    const session = model.createSession();
    const layers: number[] = [];
    const pre = await session.prefill(
      { ids, positions: positionsOf(ref.i64('position_ids')), videos: [video] },
      { onProgress: (done, total) => layers.push(done, total) },
    );
    const vocab = model.info().vocab;
    const lastRow = ref.f32('logits').subarray((ids.length - 1) * vocab, ids.length * vocab);
    expect(relativeError(pre.logits, lastRow)).toBeLessThan(1e-3);
    expect(pre.length).toBe(ids.length);
    expect(pre.layout.some((s) => s.kind === 'video')).toBe(true);
    expect(layers.slice(-2)).toEqual([model.info().textLayers, model.info().textLayers]);

    const streamed: number[] = [];
    const out = await session.decode({ maxTokens: 16 }, { onToken: (token) => streamed.push(token) });
    const expected = ref.i64('greedy.tokens');
    expect(Array.from(out.tokens)).toEqual(expected);
    expect(streamed).toEqual(expected);
    expect(out.stop).toBe('max_tokens');
    expect(out.length).toBe(ids.length + 16);
    session.dispose();
    video.dispose();
    encoder.dispose();
  });

  it('a follow-up pre-fills only its tokens and matches a fresh pre-fill of the whole transcript', async () => {
    const ids = ref.i64('input_ids');
    const positions = ref.i64('position_ids');
    const n = ids.length;
    // The text before the video: a session over it, then a text follow-up continuing the cache.
    const videoStart = ids.indexOf(model.info().videoTokenId);
    const prefix = ids.slice(0, videoStart);
    const follow = [17, 42, 99, 5, 64];
    const cached = model.createSession();
    const rows = (r: number, a: number, b: number) => positions.slice(r * n + a, r * n + b);
    const first = await cached.prefill({
      ids: Int32Array.from(prefix),
      positions: positionsOf([
        ...rows(0, 0, videoStart),
        ...rows(1, 0, videoStart),
        ...rows(2, 0, videoStart),
      ]),
    });
    const layerCalls: number[] = [];
    const next = await cached.prefill(
      { ids: Int32Array.from(follow) },
      { onProgress: (done) => layerCalls.push(done) },
    );
    expect(next.length - first.length).toBe(follow.length);
    expect(next.nextPosition).toBe(first.nextPosition + follow.length);

    const fresh = model.createSession();
    const all = [...prefix, ...follow];
    const p = Array.from({ length: all.length }, (_, i) => i);
    const whole = await fresh.prefill({
      ids: Int32Array.from(all),
      positions: positionsOf([...p, ...p, ...p]),
    });
    expect(relativeError(next.logits, whole.logits)).toBeLessThan(1e-4);
    expect(argmax(next.logits)).toBe(argmax(whole.logits));

    // Rewinding to the prefix and asking again gives the same answer.
    cached.rewind(first.length);
    expect(cached.state().length).toBe(first.length);
    const again = await cached.prefill({ ids: Int32Array.from(follow) });
    expect(relativeError(again.logits, next.logits)).toBeLessThan(1e-6);
    cached.dispose();
    fresh.dispose();
  });
});

describe('the binding keeps its promises', () => {
  let model: Model;
  let session: Session;
  // A long text prompt: each of tiny-a's 3 layers takes long enough to cancel in the middle.
  const n = 6000;
  const ids = Int32Array.from({ length: n }, (_, i) => (i * 7919) % 320);
  const p = Array.from({ length: n }, (_, i) => i);
  const positions = positionsOf([...p, ...p, ...p]);

  beforeAll(async () => {
    model = await Model.load(modelDir('tiny-a'), { threads: 2 });
    session = model.createSession();
  });
  afterAll(() => {
    session.dispose();
    model.dispose();
  });

  it('cancels a pre-fill between layers and leaves the cache as it was', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    const error = await rejection(
      session.prefill(
        { ids, positions },
        {
          signal: controller.signal,
          onProgress: (done) => {
            seen.push(done);
            controller.abort();
          },
        },
      ),
    );
    clearInterval(timer);
    expect(error.code).toBe('MMI_CANCELLED');
    // Cancelled after the first layer: at most the layer already running finished, never all three.
    expect(seen[0]).toBe(1);
    expect(Math.max(...seen)).toBeLessThan(model.info().textLayers);
    expect(session.state().length).toBe(0);
    // The event loop kept turning while the engine worked.
    expect(ticks).toBeGreaterThan(0);
  });

  it('refuses quick calls on a busy session instead of blocking, and accepts them after', async () => {
    const job = session.prefill({
      ids: ids.subarray(0, 64),
      positions: positionsOf([...p.slice(0, 64), ...p.slice(0, 64), ...p.slice(0, 64)]),
    });
    const busy = (() => {
      try {
        session.state();
        return null;
      } catch (e) {
        return e;
      }
    })();
    expect(busy).toBeInstanceOf(MmiError);
    expect((busy as MmiError).message).toContain('busy');
    await job;
    expect(session.state().length).toBe(64);
    session.rewind(0);
  });

  it('an aborted signal stops before the work starts', async () => {
    const controller = new AbortController();
    controller.abort();
    expect((await rejection(session.decode({ maxTokens: 4 }, { signal: controller.signal }))).code).toBe(
      'MMI_CANCELLED',
    );
  });

  it('bad input is MMI_INVALID_ARGUMENT naming what is wrong', async () => {
    let e = await rejection(session.prefill({ ids: Int32Array.from([100000]) }));
    expect([e.code, e.kind, e.subject]).toEqual(['MMI_INVALID_ARGUMENT', 'InvalidInput', 'ids']);
    e = await rejection(session.prefill({ ids: Int32Array.from([1, 2]), positions: positionsOf([0, 1]) }));
    expect(e.subject).toBe('positions');
    e = await rejection(session.decode({ maxTokens: 3 }));
    expect(e.message).toContain('pre-fill');
    expect(() => model.createEncoder(30, 56)).toThrow(/multiples of 28/);
    const encoder = model.createEncoder(28, 28);
    e = await rejection(encoder.push(new Uint8Array(10), 1));
    expect(e.subject).toBe('rgb');
    encoder.dispose();
  });

  it('a disposed session or model stays usable by the job that runs on it', async () => {
    const other = await Model.load(modelDir('tiny-b'), { threads: 1 });
    const s = other.createSession();
    const job = s.prefill({
      ids: Int32Array.from([1, 2, 3]),
      positions: positionsOf([0, 1, 2, 0, 1, 2, 0, 1, 2]),
    });
    s.dispose();
    other.dispose();
    expect((await job).length).toBe(3);
    expect(() => s.state()).toThrow(/disposed/);
  });

  it('says where it computes', () => {
    const info = backendInfo();
    expect(info.cpuThreads).toBeGreaterThan(0);
    expect(info.gpuCount).toBeGreaterThanOrEqual(0);
    if (!info.cudaBuilt) expect(info.gpuCount).toBe(0);
    expect(info.detail).toContain('CPU');
  });
});

describe('hostile model folders give typed errors naming the file and tensor', () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  async function damaged(edit: (dir: string) => Promise<void>): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'mmi-model-'));
    dirs.push(dir);
    await cp(modelDir('tiny-a'), dir, { recursive: true });
    await edit(dir);
    return dir;
  }

  it('missing, truncated, reshaped and foreign folders', async () => {
    let e = await rejection(Model.load(path.join(tmpdir(), 'no-such-model-folder')));
    expect(e.code).toBe('MMI_NOT_FOUND');

    e = await rejection(
      Model.load(
        await damaged(async (d) => {
          const file = path.join(d, 'model.safetensors');
          const size = (await readFile(file)).length;
          await truncate(file, size - 1000);
        }),
      ),
    );
    expect([e.code, e.kind]).toEqual(['MMI_MODEL_INVALID', 'TruncatedFile']);
    expect(e.file).toContain('model.safetensors');

    e = await rejection(
      Model.load(
        await damaged(async (d) => {
          const file = path.join(d, 'config.json');
          const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
          config.vocab_size = 353;
          if (config.text_config) (config.text_config as Record<string, unknown>).vocab_size = 353;
          await writeFile(file, JSON.stringify(config));
        }),
      ),
    );
    expect([e.code, e.kind]).toEqual(['MMI_MODEL_INVALID', 'TensorShape']);
    expect(e.subject).toMatch(/embed_tokens|lm_head/);

    e = await rejection(
      Model.load(
        await damaged(async (d) => {
          const file = path.join(d, 'config.json');
          const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
          config.model_type = 'llama';
          await writeFile(file, JSON.stringify(config));
        }),
      ),
    );
    expect(e.code).toBe('MMI_UNSUPPORTED_MODEL');

    // No family reads the folder: the C API's registry says what config.json names and which families there are.
    e = await rejection(
      Model.load(
        await damaged(async (d) => {
          const file = path.join(d, 'config.json');
          const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
          config.model_type = 'llava';
          config.architectures = ['LlavaForConditionalGeneration'];
          await writeFile(file, JSON.stringify(config));
        }),
      ),
    );
    expect([e.code, e.kind, e.subject]).toEqual(['MMI_UNSUPPORTED_MODEL', 'UnsupportedModel', 'model_type']);
    expect(e.message).toContain("model_type 'llava' and architectures LlavaForConditionalGeneration");
    expect(e.message).toContain('families: qwen2_5_vl');

    e = await rejection(
      Model.load(
        await damaged((d) => copyFile(path.join(d, 'tokenizer.json'), path.join(d, 'model.safetensors'))),
      ),
    );
    expect(e.code).toBe('MMI_MODEL_INVALID');

    // Choosing the family reads config.json under the folder's link rule too: a link out is refused as such,
    // never read (the file it points at is no JSON, so reading it would fail differently).
    e = await rejection(
      Model.load(
        await damaged(async (d) => {
          await rm(path.join(d, 'config.json'));
          await symlink('/etc/passwd', path.join(d, 'config.json'));
        }),
      ),
    );
    expect([e.code, e.kind]).toEqual(['MMI_MODEL_INVALID', 'OutsideFolder']);
  });
});
