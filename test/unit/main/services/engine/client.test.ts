// The app's side of the engine host, over a scripted process: requests matched to responses, events routed to
// their ask, malformed messages dropped, a dead process reported as ENGINE_CRASHED (and recorded) with the next
// request starting a fresh one, a restart that is not a crash, and hosts that cannot serve refused.
import { describe, expect, it } from 'vitest';

import { AppError } from '../../../../../app/contract/errors.js';
import { EngineClient } from '../../../../../main/services/engine/client.js';
import type { EngineExit, EngineProcess } from '../../../../../main/services/engine/launcher.js';
import { ENGINE_PROTOCOL, type EngineParams } from '../../../../../main/services/engine/protocol.js';

class ScriptedProcess implements EngineProcess {
  readonly sent: unknown[] = [];
  killed = false;
  private messageListeners: ((m: unknown) => void)[] = [];
  private exitListeners: ((e: EngineExit) => void)[] = [];
  constructor(readonly pid: number) {}
  send(message: unknown): void {
    this.sent.push(message);
  }
  onMessage(listener: (m: unknown) => void): void {
    this.messageListeners.push(listener);
  }
  onExit(listener: (e: EngineExit) => void): void {
    this.exitListeners.push(listener);
  }
  kill(): void {
    this.killed = true;
    this.exit({ code: null, signal: 'SIGKILL', stderr: '' });
  }
  reply(message: unknown): void {
    for (const l of this.messageListeners) l(message);
  }
  ready(protocol = ENGINE_PROTOCOL): void {
    this.reply({
      type: 'ready',
      protocol,
      pid: this.pid,
      backend: { device: 'cpu', cpuThreads: 2, cudaBuilt: false, gpus: 0, detail: 'CPU' },
    });
  }
  exit(e: EngineExit): void {
    const listeners = this.exitListeners;
    this.exitListeners = [];
    for (const l of listeners) l(e);
  }
  lastRequest(): { id: number; method: string; params: unknown } {
    return this.sent.at(-1) as { id: number; method: string; params: unknown };
  }
}

function harness() {
  const processes: ScriptedProcess[] = [];
  const client = new EngineClient(
    () => {
      const p = new ScriptedProcess(1000 + processes.length);
      processes.push(p);
      return p;
    },
    () => '/engine/host-main.js',
  );
  return { client, processes };
}

const forget: EngineParams<'forget'> = { conversationId: 'c1' };
const tick = () => new Promise((resolve) => setImmediate(resolve));

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

describe('EngineClient', () => {
  it('starts the host on first need and matches responses to requests', async () => {
    const { client, processes } = harness();
    expect(client.status().state).toBe('stopped');
    const first = client.request('forget', forget);
    const second = client.request('forget', { conversationId: 'c2' });
    await tick();
    expect(processes).toHaveLength(1);
    expect(client.status().state).toBe('starting');
    const host = processes[0]!;
    host.ready();
    await tick();
    expect(client.status()).toMatchObject({ state: 'ready', pid: 1000, restarts: 0 });
    const [a, b] = host.sent as { id: number }[];
    // Garbage from the host is dropped; the answers still find their requests, in any order.
    host.reply({ type: 'response', id: 'x' });
    host.reply(null);
    host.reply({ type: 'response', id: b!.id, ok: true, result: {} });
    host.reply({ type: 'response', id: a!.id, ok: false, error: { code: 'BAD_REQUEST', message: 'no' } });
    await expect(second.result).resolves.toEqual({});
    expect((await failure(first.result)).code).toBe('BAD_REQUEST');
  });

  it('checks results against the protocol and routes an ask’s events to it', async () => {
    const { client, processes } = harness();
    const events: unknown[] = [];
    const inspect = client.request('inspect', { model: { dir: '/m', threads: 0 }, patterns: null });
    await tick();
    processes[0]!.ready();
    await tick();
    processes[0]!.reply({ type: 'response', id: inspect.id, ok: true, result: { family: 'qwen2_5_vl' } });
    expect((await failure(inspect.result)).code).toBe('INTERNAL');

    const ask = client.request('forget', forget, (e) => events.push(e));
    await tick();
    const progress = { event: 'progress', payload: { stage: 'prefill', done: 1, total: 3 } };
    processes[0]!.reply({ type: 'event', requestId: ask.id, data: progress });
    processes[0]!.reply({ type: 'event', requestId: ask.id, data: { event: 'progress', payload: {} } });
    processes[0]!.reply({ type: 'response', id: ask.id, ok: true, result: {} });
    await ask.result;
    expect(events).toEqual([progress]);
  });

  it('reports a dead host as ENGINE_CRASHED, remembers it, and starts a new one for the next request', async () => {
    const { client, processes } = harness();
    const pending = client.request('forget', forget);
    await tick();
    processes[0]!.ready();
    await tick();
    processes[0]!.exit({ code: null, signal: 'SIGSEGV', stderr: 'Segmentation fault\n' });
    const error = await failure(pending.result);
    expect(error.code).toBe('ENGINE_CRASHED');
    expect(error.message).toContain('SIGSEGV');
    expect(error.detail).toBe('Segmentation fault');
    expect(client.status()).toMatchObject({ state: 'crashed', pid: null, lastCrash: { signal: 'SIGSEGV' } });

    const again = client.request('forget', forget);
    await tick();
    expect(processes).toHaveLength(2);
    processes[1]!.ready();
    await tick();
    processes[1]!.reply({ type: 'response', id: processes[1]!.lastRequest().id, ok: true, result: {} });
    await again.result;
    expect(client.status()).toMatchObject({
      state: 'ready',
      pid: 1001,
      restarts: 1,
      lastCrash: { signal: 'SIGSEGV' },
    });
  });

  it('restarts on request without calling it a crash; cancels go to the host', async () => {
    const { client, processes } = harness();
    const ask = client.request('forget', forget);
    await tick();
    processes[0]!.ready();
    await tick();
    client.cancel(ask.id);
    expect(processes[0]!.lastRequest()).toMatchObject({ method: 'cancel', params: { requestId: ask.id } });
    const askFailure = failure(ask.result);
    const restarted = client.restart();
    await tick();
    processes[1]!.ready();
    await restarted;
    const error = await askFailure;
    expect([error.code, error.message]).toEqual(['ENGINE_CRASHED', 'The engine was restarted']);
    expect(client.status()).toMatchObject({ state: 'ready', restarts: 1, lastCrash: null });
    await client.close();
    expect((await failure(client.request('forget', forget).result)).code).toBe('ENGINE_UNAVAILABLE');
  });

  it('refuses a host of another protocol, one that cannot load the engine, and a missing build', async () => {
    const { client, processes } = harness();
    const mismatch = client.request('forget', forget);
    await tick();
    processes[0]!.ready(ENGINE_PROTOCOL + 1);
    const e = await failure(mismatch.result);
    expect(e.code).toBe('ENGINE_UNAVAILABLE');
    expect(e.message).toContain('npm run build:ts');
    expect(processes[0]!.killed).toBe(true);

    const fatal = client.request('forget', forget);
    await tick();
    processes[1]!.reply({ type: 'fatal', error: { code: 'ENGINE_UNAVAILABLE', message: 'no addon' } });
    expect((await failure(fatal.result)).message).toBe('no addon');
    expect(client.status().lastCrash).toBeNull();

    const unbuilt = new EngineClient(
      () => {
        throw new Error('not launched');
      },
      () => null,
    );
    expect((await failure(unbuilt.request('forget', forget).result)).message).toContain('not built');
  });
});
