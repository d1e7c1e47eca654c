// The messages that cross process boundaries, fuzzed with seeded mutations of valid messages
// (test/support/mutate.ts): app → engine host, engine host → app, app → pattern worker, browser → web host. Each
// side must take every input without throwing, act only on messages its schema accepts, and answer exactly as the
// protocol says (main/services/engine/protocol.ts): one response for a request whose id can be read, none
// otherwise, and only messages the other side's schema accepts. The engine runner is a double here: what is
// fuzzed is the protocol handling, not the model (test/integration/engine covers the real engine).
import { afterEach, describe, expect, it, vi } from 'vitest';

import { AppError } from '../../../../../app/contract/errors.js';
import { EngineClient } from '../../../../../main/services/engine/client.js';
import type { EngineExit, EngineProcess } from '../../../../../main/services/engine/launcher.js';
import { HostServer } from '../../../../../main/services/engine/host-server.js';
import {
  AskEventSchema,
  ENGINE_PROTOCOL,
  EngineAskParamsSchema,
  EngineAskResultSchema,
  engineMethods,
  HostMessageSchema,
  HostRequestSchema,
  InspectResultSchema,
  isEngineMethod,
  type EngineAskResult,
  type HostMessage,
  type InspectResult,
} from '../../../../../main/services/engine/protocol.js';
import { EngineRunner } from '../../../../../main/services/engine/runner.js';
import { ToWorkerSchema } from '../../../../../main/services/patterns/worker-protocol.js';
import { parseClientMessage } from '../../../../../main/web/client-message.js';
import { int, mutateBytes, mutateJson, rng } from '../../../../support/mutate.js';

/** Mutated messages per property; the seeds make a failure reproducible (its message names the iteration). */
const iterations = 1500;
const tick = () => new Promise((resolve) => setImmediate(resolve));
/** Thousands of messages take seconds, more on a loaded machine. */
const timeout = 120_000;

const model = { dir: '/models/tiny', threads: 2, device: 'cpu' as const };
const video = {
  ffmpeg: '/usr/bin/ffmpeg',
  source: { path: '/v.mp4', fps: 25, nominalFps: 25, durationSec: 4, startSec: 0, videoStreamIndex: 0 },
  plan: {
    times: [0, 0.5, 1, 1.5],
    width: 56,
    height: 56,
    sampleFps: 2,
    gridT: 2,
    gridH: 4,
    gridW: 4,
    visualTokens: 8,
  },
};
const askParams = EngineAskParamsSchema.parse({
  model,
  conversationId: 'c1',
  history: [{ role: 'user', content: [{ type: 'video' }, { type: 'text', text: 'What moves?' }] }],
  answerEnded: true,
  question: 'And then?',
  video,
  generation: { maxTokens: 4, temperature: 0, topP: 1, topK: 0, seed: 0 },
  patterns: '/p/tiny.json',
  denseBelowTokens: null,
  heatmaps: { heads: [{ layer: 0, head: 1 }], grid: 8, samples: 4 },
});
const requests: unknown[] = [
  { type: 'request', id: 1, method: 'inspect', params: { model, patterns: null } },
  { type: 'request', id: 2, method: 'ask', params: askParams },
  { type: 'request', id: 3, method: 'cancel', params: { requestId: 2 } },
  { type: 'request', id: 4, method: 'forget', params: { conversationId: 'c1' } },
];

const inspectResult: InspectResult = InspectResultSchema.parse({
  family: 'qwen2_5_vl',
  visionLayers: 4,
  textLayers: 3,
  hidden: 64,
  heads: 4,
  kvHeads: 2,
  headDim: 16,
  vocab: 352,
  tensors: 94,
  weightBytes: 1_800_000,
  dtypes: ['F32'],
  files: ['model.safetensors'],
  patternKinds: null,
});
const askResult: EngineAskResult = EngineAskResultSchema.parse({
  answer: 'a ball',
  tokens: [5, 6],
  stop: 'stop_token',
  contextTokens: 40,
  prefilledTokens: 40,
  cachedTokens: 0,
  videoTokens: 8,
  device: 'cpu',
  timings: {
    loadMs: 0,
    videoMs: 0,
    visionMs: 0,
    prefillMs: 0,
    firstTokenMs: null,
    decodeMs: 0,
    decodeTokensPerSec: 0,
    totalMs: 1,
  },
});

/** Each message in turn, mostly structural mutations; every fifth one a byte-level mutation of its JSON text
 * (kept as text when it no longer parses: a transport may hand over anything). */
function* mutated(seed: number, seeds: readonly unknown[]): Generator<[number, unknown]> {
  const r = rng(seed);
  for (let i = 0; i < iterations; i++) {
    const base = seeds[i % seeds.length];
    if (i % 5 !== 4) {
      yield [i, mutateJson(r, base, seeds)];
      continue;
    }
    const text = new TextDecoder().decode(mutateBytes(r, new TextEncoder().encode(JSON.stringify(base))));
    try {
      yield [i, JSON.parse(text) as unknown];
    } catch {
      yield [i, text];
    }
  }
}

function readableId(raw: unknown): number | null {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? id : null;
}

afterEach(() => vi.restoreAllMocks());

describe('engine protocol, app → host', () => {
  it(
    'the host answers each request with a readable id exactly once, acts only on valid ones, never throws',
    async () => {
      const ran: unknown[] = [];
      vi.spyOn(EngineRunner.prototype, 'inspect').mockImplementation((ref, patterns) => {
        ran.push({ method: 'inspect', params: { model: ref, patterns } });
        return Promise.resolve(inspectResult);
      });
      vi.spyOn(EngineRunner.prototype, 'ask').mockImplementation((params, emit) => {
        ran.push({ method: 'ask', params });
        emit({ event: 'progress', payload: { stage: 'prefill', done: 1, total: 2 } });
        return Promise.resolve(askResult);
      });
      vi.spyOn(EngineRunner.prototype, 'forget').mockImplementation((conversationId) => {
        ran.push({ method: 'forget', params: { conversationId } });
      });
      let answered = 0;
      let refused = 0;
      for (const [i, message] of mutated(13, requests)) {
        const sent: HostMessage[] = [];
        const server = new HostServer((m) => sent.push(m));
        ran.length = 0;
        expect(() => server.receive(message), `iteration ${i}`).not.toThrow();
        for (let k = 0; k < 4; k++) await tick();
        const responses = sent.filter((m) => m.type === 'response');
        const id = readableId(message);
        expect(responses.length, `iteration ${i}: ${JSON.stringify(message)?.slice(0, 300)}`).toBe(
          id === null ? 0 : 1,
        );
        for (const m of sent) expect(HostMessageSchema.safeParse(m).success, `iteration ${i}`).toBe(true);
        if (responses[0]?.ok === false) refused++;
        else if (responses[0]?.ok === true) answered++;
        // What reached the runner passed the request's schema, method by method.
        for (const call of ran as { method: string; params: unknown }[]) {
          const request = HostRequestSchema.parse(message);
          expect(isEngineMethod(request.method) && request.method === call.method).toBe(true);
          expect(engineMethods[call.method as 'inspect'].params.safeParse(request.params).success).toBe(true);
        }
      }
      console.log(`engine host: ${iterations} mutated requests, ${answered} answered, ${refused} refused`);
      // Mutations both keep and break validity: both paths ran.
      expect(answered).toBeGreaterThan(iterations / 20);
      expect(refused).toBeGreaterThan(iterations / 4);
    },
    timeout,
  );
});

class ScriptedProcess implements EngineProcess {
  readonly pid = 4242;
  private messageListeners: ((m: unknown) => void)[] = [];
  private exitListeners: ((e: EngineExit) => void)[] = [];
  send(): void {}
  onMessage(listener: (m: unknown) => void): void {
    this.messageListeners.push(listener);
  }
  onExit(listener: (e: EngineExit) => void): void {
    this.exitListeners.push(listener);
  }
  kill(): void {
    const listeners = this.exitListeners;
    this.exitListeners = [];
    for (const l of listeners) l({ code: null, signal: 'SIGKILL', stderr: '' });
  }
  reply(message: unknown): void {
    for (const l of this.messageListeners) l(message);
  }
}

describe('engine protocol, host → app', () => {
  it(
    'the client settles a request only with a valid result or an AppError, and routes only valid events',
    async () => {
      const backend = { device: 'cpu', cpuThreads: 2, cudaBuilt: false, gpus: 0, detail: 'CPU' };
      const replies: unknown[] = [
        { type: 'response', id: 1, ok: true, result: inspectResult },
        {
          type: 'response',
          id: 1,
          ok: false,
          error: { code: 'MODEL_INVALID', message: 'bad', detail: 'config.json' },
        },
        {
          type: 'event',
          requestId: 1,
          data: { event: 'progress', payload: { stage: 'load', done: 0, total: 1 } },
        },
        { type: 'ready', protocol: ENGINE_PROTOCOL, pid: 7, backend },
        { type: 'fatal', error: { code: 'ENGINE_UNAVAILABLE', message: 'no addon' } },
      ];
      let settled = 0;
      for (const [i, reply] of mutated(29, replies)) {
        const process = new ScriptedProcess();
        const client = new EngineClient(
          () => process,
          () => '/engine/host-main.js',
        );
        const events: unknown[] = [];
        const inspect = client.request('inspect', { model, patterns: null }, (e) => events.push(e));
        let outcome: { value?: unknown; error?: unknown } | null = null;
        inspect.result.then(
          (value) => (outcome = { value }),
          (error: unknown) => (outcome = { error }),
        );
        await tick();
        process.reply({ type: 'ready', protocol: ENGINE_PROTOCOL, pid: 7, backend });
        await tick();
        expect(() => process.reply(reply), `iteration ${i}`).not.toThrow();
        for (let k = 0; k < 3; k++) await tick();
        for (const e of events) expect(AskEventSchema.safeParse(e).success, `iteration ${i}`).toBe(true);
        const o = outcome as { value?: unknown; error?: unknown } | null;
        if (o !== null) {
          settled++;
          if ('error' in o) expect(o.error, `iteration ${i}`).toBeInstanceOf(AppError);
          else expect(InspectResultSchema.safeParse(o.value).success, `iteration ${i}`).toBe(true);
        }
        await client.close();
      }
      console.log(`engine client: ${iterations} mutated host messages, ${settled} settled the request`);
      expect(settled).toBeGreaterThan(iterations / 10);
    },
    timeout,
  );
});

describe('app → pattern worker and browser → web host', () => {
  it(
    'the worker’s schema and the web host’s frame parser take any input; what they accept survives the wire',
    () => {
      const job = {
        type: 'run',
        job: {
          kind: 'compare',
          model: { dir: '/m', threads: 0 },
          video: { name: 'v', input: video },
          question: 'What moves?',
          a: '/p/a.json',
          b: null,
          maxTokens: 8,
        },
      };
      let accepted = 0;
      for (const [i, message] of mutated(41, [job, { type: 'cancel' }])) {
        const parsed = ToWorkerSchema.safeParse(message);
        if (parsed.success) {
          accepted++;
          expect(ToWorkerSchema.parse(structuredClone(parsed.data)), `iteration ${i}`).toEqual(parsed.data);
        }
      }
      expect(accepted).toBeGreaterThan(0);

      const frames = [
        { kind: 'request', id: 5, method: 'engine.ask', params: { question: 'q' } },
        { kind: 'request', id: 6, method: 'files.list', params: { dir: '/' } },
      ];
      const r = rng(43);
      for (const [i, message] of mutated(47, frames)) {
        const text = typeof message === 'string' ? message : (JSON.stringify(message) ?? 'undefined');
        const cut = int(r, 3) === 0 ? text.slice(0, int(r, text.length + 1)) : text;
        const verdict = parseClientMessage(cut);
        if (verdict.ok) {
          expect(verdict.request.kind, `iteration ${i}`).toBe('request');
          expect(Number.isInteger(verdict.request.id) && verdict.request.id >= 0).toBe(true);
        } else {
          expect(verdict.error.code).toBe('BAD_REQUEST');
          if (verdict.id !== null) expect(Number.isSafeInteger(verdict.id) && verdict.id >= 0).toBe(true);
        }
      }
    },
    timeout,
  );
});
