// The engine host process behind the app's API, on the embedded default (the demo model, its pattern file, the
// bundled needle video): answers with streamed tokens, head reports and heatmaps; follow-ups that pre-fill only their
// turn; cancellation between layers; a killed engine reported as ENGINE_CRASHED and replaced; typed errors for bad
// input without the host going down.
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeF32 } from '../../../app/contract/engine.js';
import { backendInfo } from '../../../native/index.js';
import {
  buildPrompt,
  followUpIds,
  loadPromptRules,
  secondPerGrid,
} from '../../../models/qwen2_5_vl/prompt.js';
import type { ChatMessage } from '../../../models/family.js';
import { embeddedDefault } from '../../../main/services/engine/embedded.js';
import { engineHostEntry, forkLauncher } from '../../../main/services/engine/launcher.js';
import { HostMessageSchema, type HostMessage } from '../../../main/services/engine/protocol.js';
import { fixturesDir } from '../../support/preprocess-tables.js';
import { createApi, failure, longQuestion, requireBuiltHost, tinyA, type Api } from './support.js';

const demoModel = embeddedDefault().modelDir;
let api: Api;
let scratch: string;
beforeAll(async () => {
  api = await createApi();
  scratch = await mkdtemp(path.join(tmpdir(), 'mmi-engine-'));
});
afterAll(async () => {
  await api.close();
  await rm(scratch, { recursive: true, force: true });
});

/** Runs `act` once, on the first pre-fill progress of job `jobId` past its first layer. */
function onFirstLayer(jobId: string, act: () => void): void {
  const stop = api.listen((r) => {
    const p = r.payload as { jobId?: string; stage?: string; done?: number };
    if (r.event === 'engine.progress' && p.jobId === jobId && p.stage === 'prefill' && (p.done ?? 0) >= 1) {
      stop();
      act();
    }
  });
}

describe('the engine host behind the API', () => {
  it('starts with the embedded default and says where it computes', async () => {
    const current = await api.call('model.current', {});
    expect(current).toMatchObject({ embedded: true, dir: demoModel });
    expect(current.notice).toMatch(/trained only on synthetic videos/);
    expect(current.demoVideo).toMatch(/needle-12s\.mp4$/);
    expect(current.patterns).toMatch(/demo-showcase\.json$/);
    expect(current.info).toMatchObject({ family: 'qwen2_5_vl', textLayers: 4, heads: 4, kvHeads: 2 });
    const status = await api.call('engine.status', {});
    const native = backendInfo();
    expect(status).toMatchObject({ state: 'ready', restarts: 0, lastCrash: null });
    expect(status.pid).not.toBe(process.pid);
    expect(status.backend).toMatchObject({
      device: native.autoDevice,
      gpus: native.gpuCount,
      cudaBuilt: native.cudaBuilt,
    });
  });

  it('answers about the demo video, streaming tokens, head reports and the heatmaps asked for', async () => {
    const heads = [
      { layer: 0, head: 0 },
      { layer: 2, head: 3 },
    ];
    const started = await api.call('engine.ask', {
      question: 'What is moving in this video?',
      generation: { maxTokens: 12 },
      heatmaps: { heads, grid: 16, samples: 32 },
    });
    const result = await api.outcome(started.jobId);
    const { jobId, plan } = started;

    // The prompt the engine pre-filled is the one the prompt rules build for this plan.
    const rules = await loadPromptRules(demoModel);
    const prompt = buildPrompt(
      rules,
      [
        {
          role: 'user',
          content: [{ type: 'video' }, { type: 'text', text: 'What is moving in this video?' }],
        },
      ],
      [{ t: plan.gridT, h: plan.gridH, w: plan.gridW, secondPerGrid: secondPerGrid(rules, plan.sampleFps) }],
    );
    expect(result).toMatchObject({
      turn: 0,
      prefilledTokens: prompt.ids.length,
      cachedTokens: 0,
      videoTokens: plan.visualTokens,
      contextTokens: prompt.ids.length + result.tokens.length,
      device: 'cpu',
      model: { dir: demoModel, embedded: true },
    });
    expect(result.notice).toMatch(/trained only on synthetic videos/);

    const tokens = api.of(jobId, 'engine.token');
    expect(tokens.map((t) => t.index)).toEqual(result.tokens.map((_, i) => i));
    expect(tokens.map((t) => t.token)).toEqual(result.tokens);
    expect(tokens.map((t) => t.text).join('')).toBe(result.answer);

    const stages = api.of(jobId, 'engine.progress');
    const order = [...new Set(stages.map((p) => p.stage))];
    expect(order).toEqual(['queued', 'load', 'video', 'vision', 'prefill', 'decode']);
    expect(stages.filter((p) => p.stage === 'video').at(-1)).toMatchObject({ done: plan.times.length });
    expect(stages.filter((p) => p.stage === 'vision').at(-1)).toMatchObject({ done: plan.gridT });
    expect(stages.filter((p) => p.stage === 'prefill').at(-1)).toMatchObject({ done: 4, total: 4 });

    // Every head reports; each ran the pattern its file gives it (the demo applies its file at any length).
    const file = JSON.parse(readFileSync(started.model.patterns!, 'utf8')) as {
      layers: { heads: { pattern: string }[] }[];
    };
    const reports = api.of(jobId, 'engine.head');
    expect(reports).toHaveLength(4 * 4);
    for (const r of reports) {
      const planned = file.layers[r.layer]!.heads[r.head]!.pattern;
      expect([r.planned, r.applied, r.keys, r.queries]).toEqual([
        planned,
        planned,
        prompt.ids.length,
        prompt.ids.length,
      ]);
    }

    const maps = api.of(jobId, 'engine.heatmap');
    expect(maps.map((m) => ({ layer: m.layer, head: m.head }))).toEqual(heads);
    for (const m of maps) {
      const mass = decodeF32(m.mass);
      expect(mass).toHaveLength(16 * 16);
      expect(decodeF32(m.maskPermuted)).toHaveLength(16 * 16);
      for (let row = 0; row < 16; row++) {
        const sum = mass.subarray(row * 16, row * 16 + 16).reduce((a, b) => a + b, 0);
        expect(sum).toBeCloseTo(m.rowSamples[row]! > 0 ? 1 : 0, 4);
      }
      expect(m.recall).toBeGreaterThan(0);
      expect(m.tokens).toBe(prompt.ids.length);
    }
  });

  it('pre-fills only the new turn of a follow-up, and the whole conversation again after a crash', async () => {
    const q1 = 'What is moving in this video?';
    const first = await api.call('engine.ask', { question: q1, generation: { maxTokens: 6 } });
    const r1 = await api.outcome(first.jobId);
    const q2 = 'Which way does it go?';
    const second = await api.call('engine.ask', {
      question: q2,
      conversationId: first.conversationId,
      generation: { maxTokens: 5 },
    });
    expect(second).toMatchObject({ conversationId: first.conversationId, turn: 1, plan: first.plan });
    const r2 = await api.outcome(second.jobId);

    const rules = await loadPromptRules(demoModel);
    const history: ChatMessage[] = [
      { role: 'user', content: [{ type: 'video' }, { type: 'text', text: q1 }] },
      { role: 'assistant', content: r1.answer },
    ];
    const added = followUpIds(rules, history, q2, r1.stop === 'stop_token');
    expect(r2).toMatchObject({
      turn: 1,
      cachedTokens: r1.contextTokens,
      prefilledTokens: added.length,
      contextTokens: r1.contextTokens + added.length + r2.tokens.length,
      videoTokens: r1.videoTokens,
    });
    expect(r2.timings).toMatchObject({ videoMs: 0, visionMs: 0 });
    const stages = new Set(api.of(second.jobId, 'engine.progress').map((p) => p.stage));
    expect(stages.has('vision')).toBe(false);
    // Continued queries run dense: the sparse kernels take fresh pre-fills.
    expect(new Set(api.of(second.jobId, 'engine.head').map((h) => h.denseReason))).toEqual(
      new Set(['continued_queries']),
    );

    // The engine dies between turns: the next follow-up pre-fills the whole conversation in a new process.
    const { pid } = await api.call('engine.status', {});
    process.kill(pid!, 'SIGKILL');
    await waitFor(async () => (await api.call('engine.status', {})).state === 'crashed');
    const q3 = 'And then?';
    const third = await api.call('engine.ask', {
      question: q3,
      conversationId: first.conversationId,
      generation: { maxTokens: 4 },
    });
    const r3 = await api.outcome(third.jobId);
    const whole = buildPrompt(
      rules,
      [
        ...history,
        { role: 'user', content: q2 },
        { role: 'assistant', content: r2.answer },
        { role: 'user', content: q3 },
      ],
      [
        {
          t: first.plan.gridT,
          h: first.plan.gridH,
          w: first.plan.gridW,
          secondPerGrid: secondPerGrid(rules, first.plan.sampleFps),
        },
      ],
    );
    expect(r3).toMatchObject({ turn: 2, cachedTokens: 0, prefilledTokens: whole.ids.length });
  });

  it('cancels a running ask between layers; the engine then answers the next question', async () => {
    const started = await api.call('engine.ask', {
      question: longQuestion(),
      patterns: null,
      generation: { maxTokens: 4 },
    });
    onFirstLayer(started.jobId, () => void api.call('job.cancel', { jobId: started.jobId }));
    const error = await failure(api.outcome(started.jobId));
    expect(error.code).toBe('CANCELLED');
    const layers = api.of(started.jobId, 'engine.progress').filter((p) => p.stage === 'prefill');
    // Stopped after at most the layer that was running when the cancel arrived: never all four.
    expect(Math.max(...layers.map((p) => p.done))).toBeLessThan(4);
    expect(api.of(started.jobId, 'engine.token')).toHaveLength(0);

    const before = await api.call('engine.status', {});
    const next = await api.call('engine.ask', { question: 'Still there?', generation: { maxTokens: 3 } });
    expect((await api.outcome(next.jobId)).tokens.length).toBeGreaterThan(0);
    expect((await api.call('engine.status', {})).pid).toBe(before.pid);
  });

  it('reports a killed engine process as ENGINE_CRASHED, says so in its status, and starts a new one', async () => {
    const { pid, restarts } = await api.call('engine.status', {});
    const started = await api.call('engine.ask', {
      question: longQuestion(),
      patterns: null,
      generation: { maxTokens: 4 },
    });
    onFirstLayer(started.jobId, () => process.kill(pid!, 'SIGKILL'));
    const error = await failure(api.outcome(started.jobId));
    expect(error.code).toBe('ENGINE_CRASHED');
    expect(error.message).toContain('SIGKILL');
    const crashed = await api.call('engine.status', {});
    expect(crashed).toMatchObject({ state: 'crashed', pid: null, lastCrash: { signal: 'SIGKILL' } });

    const again = await api.call('engine.ask', { question: 'Are you back?', generation: { maxTokens: 3 } });
    await api.outcome(again.jobId);
    const status = await api.call('engine.status', {});
    expect(status.state).toBe('ready');
    expect(status.pid).not.toBe(pid);
    expect(status.restarts).toBe(restarts + 1);

    const restarted = await api.call('engine.restart', {});
    expect(restarted.state).toBe('ready');
    expect(restarted.pid).not.toBe(status.pid);
    expect(restarted.restarts).toBe(restarts + 2);
    expect(restarted.lastCrash?.signal).toBe('SIGKILL');
  });

  it('answers bad input with typed errors and stays up', async () => {
    const { pid } = await api.call('engine.status', {});
    let e = await failure(api.call('model.inspect', { dir: path.join(scratch, 'missing') }));
    expect(e.code).toBe('FILE_NOT_FOUND');

    const damaged = path.join(scratch, 'damaged');
    await cp(tinyA, damaged, { recursive: true });
    const weights = path.join(damaged, 'model.safetensors');
    await truncate(weights, (await readFile(weights)).length - 4096);
    e = await failure(api.call('model.inspect', { dir: damaged }));
    expect(e.code).toBe('MODEL_INVALID');
    expect(e.detail).toMatch(/TruncatedFile.*model\.safetensors/);
    e = await failure(api.call('model.choose', { dir: damaged }));
    expect(e.code).toBe('MODEL_INVALID');
    expect((await api.call('model.current', {})).embedded).toBe(true);

    const otherPatterns = path.join(fixturesDir, '..', 'patterns', 'tiny-b.json');
    e = await failure(api.call('model.choose', { dir: tinyA, patterns: otherPatterns }));
    expect(e.code).toBe('PATTERN_FILE_INVALID');
    expect(e.detail).toMatch(/WrongModel/);

    const notVideo = path.join(scratch, 'notes.mp4');
    await writeFile(notVideo, 'not a video at all\n'.repeat(100));
    e = await failure(api.call('engine.ask', { question: 'What?', video: notVideo }));
    expect(e.code).toBe('NOT_MEDIA');
    e = await failure(api.call('engine.ask', { question: 'What?', conversationId: 'nope' }));
    expect(e.code).toBe('BAD_REQUEST');
    e = await failure(api.call('engine.ask', { question: '' }));
    expect(e.code).toBe('BAD_REQUEST');

    const started = await api.call('engine.ask', {
      question: 'What?',
      heatmaps: { heads: [{ layer: 9, head: 0 }] },
    });
    e = await failure(api.outcome(started.jobId));
    expect(e.code).toBe('BAD_REQUEST');
    expect(e.message).toContain('(9, 0)');

    expect((await api.call('engine.status', {})).pid).toBe(pid);
  });
});

describe('the engine host process on its own', () => {
  it('answers malformed messages with BAD_REQUEST and keeps serving', async () => {
    requireBuiltHost();
    const host = forkLauncher(engineHostEntry()!);
    const messages: HostMessage[] = [];
    const arrived = new Set<number>();
    let notify = (): void => undefined;
    host.onMessage((raw) => {
      const m = HostMessageSchema.parse(raw);
      messages.push(m);
      if (m.type === 'response') arrived.add(m.id);
      notify();
    });
    const until = (check: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        notify = () => check() && resolve();
        notify();
      });
    try {
      await until(() => messages.some((m) => m.type === 'ready'));
      host.send('hello');
      host.send({ type: 'request' });
      host.send({ type: 'request', id: 1, method: 'launch' });
      host.send({ type: 'request', id: 2, method: 'ask', params: { question: 42 } });
      host.send({
        type: 'request',
        id: 3,
        method: 'inspect',
        params: { model: { dir: tinyA, threads: 1 }, patterns: null },
      });
      await until(() => [1, 2, 3].every((id) => arrived.has(id)));
      const response = (id: number) => messages.find((m) => m.type === 'response' && m.id === id);
      expect(response(1)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      expect(response(2)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      expect(response(3)).toMatchObject({ ok: true, result: { family: 'qwen2_5_vl', textLayers: 3 } });
      expect(messages.filter((m) => m.type === 'response')).toHaveLength(3);
    } finally {
      const exited = new Promise((resolve) => host.onExit(resolve));
      host.kill();
      await exited;
    }
  });
});

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 20));
}
