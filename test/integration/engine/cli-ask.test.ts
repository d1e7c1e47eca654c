// `mmi ask` end to end on the CPU: a tiny fixture model asked about its own reference frames (as a lossless video)
// answers with the greedy tokens transformers produced; the embedded default answers about its bundled video with
// the tokens the runtime gives for the same frames through the binding; bad input is one line and an exit code.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AskResultSchema } from '../../../app/contract/engine.js';
import { SamplingPlanSchema, VideoMetaSchema } from '../../../app/contract/video.js';
import { embeddedDefault } from '../../../main/services/engine/embedded.js';
import { decodeFrames } from '../../../main/services/video/decode.js';
import { probeVideo } from '../../../main/services/video/probe.js';
import { createVideoTools } from '../../../main/services/video/tools.js';
import { buildPrompt, loadPromptRules, secondPerGrid } from '../../../models/qwen2_5_vl/prompt.js';
import { Model } from '../../../native/index.js';
import { mmi } from '../../support/run-cli.js';
import { referenceInts } from '../../support/preprocess-tables.js';
import { fixtureVideo, requireBuiltHost, tinyA } from './support.js';

const JsonResult = AskResultSchema.extend({
  question: AskResultSchema.shape.answer,
  video: AskResultSchema.shape.answer,
  plan: SamplingPlanSchema,
  followUps: AskResultSchema.array(),
});

let scratch: string;
let fixtureFile: string;
beforeAll(async () => {
  requireBuiltHost();
  scratch = await mkdtemp(path.join(tmpdir(), 'mmi-ask-'));
  fixtureFile = path.join(scratch, 'tiny-a-frames.mkv');
  await fixtureVideo(fixtureFile);
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

describe('mmi ask', () => {
  const question = 'What is moving in this video?';
  // The fixture's frames are 140×84: a pixel floor below that keeps them at their size, as the reference saw them.
  const fixtureArgs = [
    '--model',
    tinyA,
    '--video',
    '',
    question,
    '--min-pixels',
    '3136',
    '--max-tokens',
    '16',
  ];

  it('answers about the fixture’s own frames with the greedy tokens transformers produced', async () => {
    const args = [...fixtureArgs];
    args[3] = fixtureFile;
    const json = await mmi('ask', ...args, '--json');
    expect(json.code, json.err).toBe(0);
    const result = JsonResult.parse(JSON.parse(json.out));
    const reference = referenceInts('tiny-a', 'greedy.tokens').values;
    const imEnd = 332;
    // The reference decoded 16 tokens past <|im_end|>; the app stops at it.
    expect(result.tokens).toEqual(reference.slice(0, reference.indexOf(imEnd) + 1));
    expect(result.stop).toBe('stop_token');
    expect(result.prefilledTokens).toBe(referenceInts('tiny-a', 'input_ids').values.length);
    expect(result.videoTokens).toBe(45);
    expect(result.plan).toMatchObject({ width: 140, height: 84, gridT: 3, sampleFps: 2 });
    expect(result.model).toEqual({ dir: tinyA, embedded: false });
    expect(result.notice).toBeNull();

    // Streaming prints the same answer as it comes, and the timings on stderr.
    const streamed = await mmi('ask', ...args);
    expect(streamed.code).toBe(0);
    expect(streamed.out).toBe(`${result.answer}\n`);
    // The random model's bytes that make no character are spelled out, never printed as U+FFFD (EF BF BD).
    expect(result.answer).toMatch(/<0x[0-9A-F]{2}>/);
    expect(streamed.out).not.toContain('\uFFFD');
    expect(streamed.err).toMatch(/pre-fill \d+ ms \(97 tokens\)/);
    expect(streamed.err).not.toMatch(/trained only on synthetic videos/);
  });

  it('uses the embedded model and video by default, says what the model is, and matches the runtime', async () => {
    const { code, out, err } = await mmi(
      'ask',
      question,
      '--max-tokens',
      '12',
      '--follow-up',
      'Which way?',
      '--json',
    );
    expect(code, err).toBe(0);
    expect(err).toMatch(/demo model: a small Qwen2\.5-VL trained only on synthetic videos/);
    const result = JsonResult.parse(JSON.parse(out));
    const demo = embeddedDefault();
    expect(result.video).toBe(demo.video);
    expect(result.model).toEqual({ dir: demo.modelDir, embedded: true });
    expect(result.patterns).toBe(demo.patterns);
    expect(result.followUps).toHaveLength(1);
    expect(result.followUps[0]).toMatchObject({ turn: 1, cachedTokens: result.contextTokens });

    // The same frames, prompt and pattern file straight through the binding give the same tokens.
    const tools = createVideoTools();
    const { ffmpeg } = await tools.require();
    const meta = VideoMetaSchema.parse(await probeVideo(tools, demo.video));
    const model = await Model.load(demo.modelDir, { threads: 2 });
    const encoder = model.createEncoder(result.plan.height, result.plan.width);
    for await (const frame of decodeFrames(ffmpeg.path, meta, result.plan)) await encoder.push(frame.data, 1);
    const video = await encoder.finish();
    const rules = await loadPromptRules(demo.modelDir);
    const { plan } = result;
    const prompt = buildPrompt(
      rules,
      [{ role: 'user', content: [{ type: 'video' }, { type: 'text', text: question }] }],
      [{ t: plan.gridT, h: plan.gridH, w: plan.gridW, secondPerGrid: secondPerGrid(rules, plan.sampleFps) }],
    );
    const patterns = await model.loadPatternFile(demo.patterns);
    const session = model.createSession();
    await session.prefill({
      ids: Int32Array.from(prompt.ids),
      positions: BigInt64Array.from(prompt.positions.rows.flat(), (p) => BigInt(p)),
      videos: [video],
      attention: { patterns, denseBelowTokens: demo.denseBelowTokens },
    });
    const direct = await session.decode({ maxTokens: 12, stopIds: rules.stopIds });
    expect(result.tokens).toEqual(Array.from(direct.tokens));
    expect(result.prefilledTokens).toBe(prompt.ids.length);
    session.dispose();
    patterns.dispose();
    video.dispose();
    encoder.dispose();
    model.dispose();
  });

  it('refuses bad input with one line and an exit code', async () => {
    let r = await mmi('ask');
    expect([r.code, r.err]).toEqual([2, expect.stringMatching(/^error BAD_REQUEST: expected one QUESTION/)]);
    r = await mmi('ask', '--model', tinyA, 'What?');
    expect([r.code, r.err]).toEqual([2, 'error BAD_REQUEST: --video is required with --model\n']);
    r = await mmi('ask', '--model', path.join(scratch, 'no-model'), '--video', fixtureFile, 'What?');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error FILE_NOT_FOUND: [^\n]*\n$/);
    r = await mmi('ask', 'What?', '--max-tokens', 'many');
    expect([r.code, r.err]).toEqual([2, 'error BAD_REQUEST: --max-tokens needs a number, not "many"\n']);
    r = await mmi('ask', 'What?', '--video', path.join(scratch, 'nothing.mp4'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^error FILE_NOT_FOUND/);
    expect(r.out).toBe('');
  });
});
