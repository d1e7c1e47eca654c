import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { ServerMessageSchema, type ResponseMessage } from '../../app/contract/protocol.js';
import { embeddedDefault } from '../services/engine/embedded.js';
import { packageRoot } from '../services/resources.js';

// The web host under load, as browsers use it: `mmi serve` in a process of its own (loopback, a fresh token),
// clients that speak its WebSocket protocol and fetch thumbnails, and the memory of the host and of its engine
// process read from /proc. Two phases: questions asked one after another on one socket, then many clients at
// once, each opening the page's socket, reading the model and the engine's state, asking, fetching a thumbnail
// and, once answered, asking a follow-up. More questions at once than the engine takes are refused ENGINE_BUSY. A
// request is answered (its job done), refused (an error response or job.failed whose code says why) or lost (no
// answer in time, a closed socket, any other error). After each phase every job that ran must be gone from the
// host (job.cancel answers JOB_NOT_FOUND).
// Used by test/e2e-browser/load.test.ts (small counts) and main/bench/load-bench.ts (the full ones).

export interface LoadOptions {
  /** Questions asked one after another. */
  asks: number;
  /** Clients at once in the second phase. */
  clients: number;
  /** Answer length of each question. */
  maxTokens?: number;
  /** How long one request may take before it counts as lost. */
  requestTimeoutMs?: number;
}

export interface MemorySample {
  /** Questions answered so far in the phase. */
  after: number;
  hostRssMiB: number;
  engineRssMiB: number | null;
}

export interface PhaseReport {
  requests: number;
  answered: number;
  refused: number;
  lost: number;
  seconds: number;
  /** Why requests were refused, by error code. */
  refusals: Record<string, number>;
  /** What was lost, one line each. */
  losses: string[];
  /** Finished jobs still known to the host (should be none). */
  leakedJobs: number;
}

export interface LoadReport {
  sequential: PhaseReport & { memory: MemorySample[] };
  concurrent: PhaseReport & { memory: MemorySample[] };
  /** Processes the host had left at the end beside its engine (ffmpeg, workers). */
  strayProcesses: string[];
}

interface Served {
  child: ChildProcess;
  origin: string;
  token: string;
  root: string;
}

/** `mmi serve --root <a folder with the demo video>`, and the URL it prints. */
async function serve(): Promise<Served> {
  const root = await mkdtemp(path.join(tmpdir(), 'mmi-load-'));
  await copyFile(embeddedDefault().video, path.join(root, 'clip.mp4'));
  const child = spawn(
    process.execPath,
    [path.join(packageRoot(), 'bin', 'mmi.js'), 'serve', '--root', root, '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const url = await new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mmi serve printed no URL: ${out}`)), 30_000);
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      out += text;
      const match = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(new URL(match[0]));
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.once('exit', (code) => reject(new Error(`mmi serve exited (${code}): ${out}`)));
  });
  return { child, origin: url.origin, token: url.searchParams.get('token') ?? '', root };
}

async function rssMiB(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    return Number.isFinite(kb) ? Math.round((kb / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/** The host's child processes, by command line. */
async function childrenOf(parent: number): Promise<{ pid: number; cmd: string }[]> {
  const found: { pid: number; cmd: string }[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== parent) continue;
      const cmd = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0').join(' ').trim();
      found.push({ pid: Number(name), cmd });
    } catch {
      // Gone while listing.
    }
  }
  return found;
}

async function memory(served: Served, after: number): Promise<MemorySample> {
  const hostPid = served.child.pid ?? 0;
  const engine = (await childrenOf(hostPid)).find((p) => p.cmd.includes('host-main.js'));
  return {
    after,
    hostRssMiB: (await rssMiB(hostPid)) ?? 0,
    engineRssMiB: engine ? await rssMiB(engine.pid) : null,
  };
}

type Outcome = { kind: 'answered' } | { kind: 'refused'; code: string } | { kind: 'lost'; why: string };

/** One browser's socket: requests by id, and each job's end. */
class Client {
  private nextId = 1;
  private readonly waiting = new Map<number, (message: ResponseMessage) => void>();
  private readonly ends = new Map<string, (outcome: Outcome) => void>();
  private readonly endedEarly = new Map<string, Outcome>();
  private closedWhy: string | null = null;

  private constructor(
    private readonly ws: WebSocket,
    private readonly timeoutMs: number,
  ) {
    ws.on('message', (data: Buffer) => {
      const parsed = ServerMessageSchema.safeParse(JSON.parse(data.toString()));
      if (!parsed.success) return;
      const message = parsed.data;
      if (message.kind === 'response') {
        this.waiting.get(message.id)?.(message);
        this.waiting.delete(message.id);
        return;
      }
      if (message.event !== 'job.done' && message.event !== 'job.failed') return;
      const payload = message.payload as { jobId: string; error?: { code: string; message: string } };
      const outcome = jobOutcome(message.event, payload.error);
      const end = this.ends.get(payload.jobId);
      if (end) end(outcome);
      else this.endedEarly.set(payload.jobId, outcome);
    });
    ws.on('close', (code) => {
      this.closedWhy = `socket closed (${code})`;
      for (const resolve of this.waiting.values()) {
        resolve({ kind: 'response', id: 0, ok: false, error: { code: 'INTERNAL', message: this.closedWhy } });
      }
    });
  }

  static async open(served: Served, timeoutMs: number): Promise<Client> {
    const ws = new WebSocket(`${served.origin.replace('http', 'ws')}/api/ws?token=${served.token}`, {
      headers: { Origin: served.origin },
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return new Client(ws, timeoutMs);
  }

  request(method: string, params: unknown): Promise<ResponseMessage | null> {
    if (this.closedWhy !== null) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, this.timeoutMs);
      this.waiting.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      this.ws.send(JSON.stringify({ kind: 'request', id, method, params }));
    });
  }

  /** Asks; the outcome once its job has ended. */
  async ask(
    params: Record<string, unknown>,
  ): Promise<{ outcome: Outcome; jobId: string | null; conversation?: string }> {
    const jobId = randomUUID();
    const ended = new Promise<Outcome>((resolve) => {
      const timer = setTimeout(
        () => resolve({ kind: 'lost', why: `job ${jobId} did not end in time` }),
        this.timeoutMs,
      );
      this.ends.set(jobId, (outcome) => {
        clearTimeout(timer);
        resolve(outcome);
      });
      const early = this.endedEarly.get(jobId);
      if (early) this.ends.get(jobId)?.(early);
    });
    const response = await this.request('engine.ask', { ...params, jobId });
    if (response === null) return { outcome: { kind: 'lost', why: 'engine.ask got no answer' }, jobId: null };
    if (!response.ok) return { outcome: responseOutcome(response), jobId: null };
    const started = response.result as { conversationId: string };
    return { outcome: await ended, jobId, conversation: started.conversationId };
  }

  close(): void {
    this.ws.close();
  }
}

/** Codes that refuse a request with a reason the user can act on; anything else is a loss. */
const clearRefusals = new Set(['ENGINE_BUSY', 'BAD_REQUEST', 'CANCELLED']);

function jobOutcome(event: string, error: { code: string; message: string } | undefined): Outcome {
  if (event === 'job.done') return { kind: 'answered' };
  if (error && clearRefusals.has(error.code) && error.message !== '')
    return { kind: 'refused', code: error.code };
  return { kind: 'lost', why: `job failed ${error?.code}: ${error?.message}` };
}

function responseOutcome(response: ResponseMessage): Outcome {
  if (response.ok) return { kind: 'answered' };
  return clearRefusals.has(response.error.code) && response.error.message !== ''
    ? { kind: 'refused', code: response.error.code }
    : { kind: 'lost', why: `${response.error.code}: ${response.error.message}` };
}

class Phase {
  readonly report: PhaseReport & { memory: MemorySample[] } = {
    requests: 0,
    answered: 0,
    refused: 0,
    lost: 0,
    seconds: 0,
    refusals: {},
    losses: [],
    leakedJobs: 0,
    memory: [],
  };
  readonly jobs: string[] = [];
  private readonly started = performance.now();

  count(outcome: Outcome, what: string): void {
    this.report.requests += 1;
    if (outcome.kind === 'answered') this.report.answered += 1;
    else if (outcome.kind === 'refused') {
      this.report.refused += 1;
      this.report.refusals[outcome.code] = (this.report.refusals[outcome.code] ?? 0) + 1;
    } else {
      this.report.lost += 1;
      this.report.losses.push(`${what}: ${outcome.why}`);
    }
  }

  /** Every job that ran must be forgotten by the host once it has ended. */
  async checkJobs(client: Client): Promise<void> {
    for (const jobId of this.jobs) {
      const answer = await client.request('job.cancel', { jobId });
      if (answer === null || answer.ok || answer.error.code !== 'JOB_NOT_FOUND') this.report.leakedJobs += 1;
    }
    this.report.seconds = Math.round((performance.now() - this.started) / 100) / 10;
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const maxTokens = options.maxTokens ?? 4;
  const timeoutMs = options.requestTimeoutMs ?? 120_000;
  const served = await serve();
  const clip = path.join(served.root, 'clip.mp4');
  try {
    // 1. One question after another.
    const sequential = new Phase();
    const one = await Client.open(served, timeoutMs);
    sequential.report.memory.push(await memory(served, 0));
    const every = Math.max(1, Math.floor(options.asks / 10));
    for (let i = 1; i <= options.asks; i += 1) {
      const { outcome, jobId } = await one.ask({
        question: `Question ${i}: what moves?`,
        video: clip,
        generation: { maxTokens },
      });
      if (jobId) sequential.jobs.push(jobId);
      sequential.count(outcome, `ask ${i}`);
      if (i % every === 0 || i === options.asks) sequential.report.memory.push(await memory(served, i));
    }
    await sequential.checkJobs(one);

    // 2. Many clients at once: the page's first requests, a question, a thumbnail, and a follow-up sent before
    // the answer, which the host must refuse.
    const concurrent = new Phase();
    concurrent.report.memory.push(await memory(served, 0));
    await Promise.all(
      Array.from({ length: options.clients }, async (_, c) => {
        let client: Client;
        try {
          client = await Client.open(served, timeoutMs);
        } catch (err) {
          concurrent.count({ kind: 'lost', why: `cannot connect: ${String(err)}` }, `client ${c}`);
          return;
        }
        for (const method of ['model.current', 'engine.status'] as const) {
          const response = await client.request(method, {});
          concurrent.count(
            response === null ? { kind: 'lost', why: 'no answer' } : responseOutcome(response),
            `client ${c} ${method}`,
          );
        }
        const asked = client.ask({
          question: `Client ${c}: what colour?`,
          video: clip,
          generation: { maxTokens },
        });
        const thumb = await fetch(
          `${served.origin}/api/media/thumbnail?path=${encodeURIComponent(clip)}&t=1&h=90&token=${served.token}`,
          { signal: AbortSignal.timeout(timeoutMs) },
        ).then(
          async (r) =>
            r.ok && (await r.arrayBuffer()).byteLength > 0
              ? { kind: 'answered' as const }
              : { kind: 'lost' as const, why: `thumbnail HTTP ${r.status}` },
          (err: unknown) => ({ kind: 'lost' as const, why: `thumbnail: ${String(err)}` }),
        );
        concurrent.count(thumb, `client ${c} thumbnail`);
        const { outcome, jobId, conversation } = await asked;
        if (jobId) concurrent.jobs.push(jobId);
        concurrent.count(outcome, `client ${c} ask`);
        if (conversation) {
          // Answered already, so this follow-up is a real second question on the cached conversation.
          const follow = await client.ask({
            question: 'And then?',
            conversationId: conversation,
            generation: { maxTokens },
          });
          if (follow.jobId) concurrent.jobs.push(follow.jobId);
          concurrent.count(follow.outcome, `client ${c} follow-up`);
        }
        client.close();
      }),
    );
    concurrent.report.memory.push(await memory(served, concurrent.report.answered));
    const checker = await Client.open(served, timeoutMs);
    await concurrent.checkJobs(checker);
    checker.close();
    one.close();

    const stray = (await childrenOf(served.child.pid ?? 0))
      .filter((p) => !p.cmd.includes('host-main.js'))
      .map((p) => `${p.pid} ${p.cmd}`);
    return { sequential: sequential.report, concurrent: concurrent.report, strayProcesses: stray };
  } finally {
    if (served.child.exitCode === null && served.child.signalCode === null) {
      const exited = new Promise((resolve) => served.child.once('exit', resolve));
      served.child.kill('SIGINT');
      await exited;
    }
    await rm(served.root, { recursive: true, force: true });
  }
}
