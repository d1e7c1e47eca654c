import { AppError } from '../../../app/contract/errors.js';
import type { EngineBackend, EngineHostStatus, EngineState } from '../../../app/contract/engine.js';
import type { EngineExit, EngineLauncher, EngineProcess } from './launcher.js';
import {
  ENGINE_PROTOCOL,
  engineMethods,
  HostMessageSchema,
  type AskEvent,
  type EngineMethod,
  type EngineParams,
  type EngineResult,
} from './protocol.js';

// The app's side of the engine host: starts the process on first need, sends requests and matches their
// responses, hands an ask's events to its caller, and watches the process. If it dies, every request in flight
// fails with ENGINE_CRASHED (with the exit code or signal and its last stderr), the status says so, and the next
// request starts a fresh process. Messages from the host are validated; one that does not parse is dropped.

const startTimeoutMs = 60_000;

interface Pending {
  method: EngineMethod;
  running: Running;
  resolve(result: unknown): void;
  reject(err: unknown): void;
  onEvent?: ((event: AskEvent) => void) | undefined;
}

interface Running {
  process: EngineProcess;
  ready: Promise<void>;
  pid: number | null;
  backend: EngineBackend | null;
  /** Set when the app itself ends the process (restart, close): its exit is not a crash. */
  stopping: string | null;
}

export type EngineStatusCore = Omit<EngineHostStatus, 'model'>;

export class EngineClient {
  private current: Running | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private starts = 0;
  private lastCrash: EngineHostStatus['lastCrash'] = null;
  private closed = false;

  /** entry: the host's compiled entry point, or null when it is not built. */
  constructor(
    private readonly launcher: EngineLauncher,
    private readonly entry: () => string | null,
  ) {}

  status(): EngineStatusCore {
    const running = this.current;
    let state: EngineState;
    if (running === null) state = this.lastCrash ? 'crashed' : 'stopped';
    else if (running.pid === null) state = 'starting';
    else state = [...this.pending.values()].some((p) => p.method === 'ask') ? 'busy' : 'ready';
    return {
      state,
      pid: running?.pid ?? null,
      backend: running?.backend ?? null,
      lastCrash: this.lastCrash,
      restarts: Math.max(0, this.starts - 1),
    };
  }

  /** Starts the host if it is not running; resolves once it has said it is ready. */
  async start(): Promise<void> {
    if (this.closed) throw new AppError('ENGINE_UNAVAILABLE', 'The engine has been shut down');
    this.current ??= this.launch();
    await this.current.ready;
  }

  /** Sends a request; the promise settles with its response (or ENGINE_CRASHED). */
  request<M extends EngineMethod>(
    method: M,
    params: EngineParams<M>,
    onEvent?: (event: AskEvent) => void,
  ): { id: number; result: Promise<EngineResult<M>> } {
    const id = this.nextId++;
    const result = (async () => {
      await this.start();
      const running = this.current;
      if (running === null) throw new AppError('ENGINE_CRASHED', 'The engine process stopped');
      return new Promise<EngineResult<M>>((resolve, reject) => {
        this.pending.set(id, { method, running, resolve: resolve as (r: unknown) => void, reject, onEvent });
        running.process.send({ type: 'request', id, method, params });
      });
    })();
    return { id, result };
  }

  /** Asks the host to stop request `id` (an ask); it then answers CANCELLED. */
  cancel(id: number): void {
    if (this.pending.has(id) && this.current?.pid != null) {
      this.current.process.send({
        type: 'request',
        id: this.nextId++,
        method: 'cancel',
        params: { requestId: id },
      });
    }
  }

  /** Ends the running host (requests in flight fail with ENGINE_CRASHED) and starts a new one. */
  async restart(): Promise<void> {
    await this.stop('The engine was restarted');
    await this.start();
  }

  /** Ends the host for good (the app is quitting). */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop('The engine was shut down');
  }

  private async stop(reason: string): Promise<void> {
    const running = this.current;
    if (running === null) return;
    running.stopping = reason;
    const exited = new Promise<void>((resolve) => running.process.onExit(() => resolve()));
    running.process.kill();
    await exited;
  }

  private launch(): Running {
    const entry = this.entry();
    if (entry === null) {
      throw new AppError(
        'ENGINE_UNAVAILABLE',
        'The engine host is not built (no dist/main/services/engine/host-main.js): run `npm run build:ts`',
      );
    }
    this.starts += 1;
    const process = this.launcher(entry);
    let settle: { resolve(): void; reject(err: unknown): void } | undefined;
    const ready = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    ready.catch(() => undefined);
    const running: Running = { process, ready, pid: null, backend: null, stopping: null };
    const timer = setTimeout(() => {
      settle?.reject(new AppError('ENGINE_UNAVAILABLE', 'The engine process did not start in time'));
      process.kill();
    }, startTimeoutMs);
    process.onMessage((raw) => {
      const parsed = HostMessageSchema.safeParse(raw);
      if (!parsed.success) return;
      const message = parsed.data;
      switch (message.type) {
        case 'ready':
          clearTimeout(timer);
          if (message.protocol !== ENGINE_PROTOCOL) {
            settle?.reject(
              new AppError(
                'ENGINE_UNAVAILABLE',
                `The engine host speaks protocol ${message.protocol}, this app ${ENGINE_PROTOCOL}: rebuild it with \`npm run build:ts\``,
              ),
            );
            running.stopping = 'protocol mismatch';
            process.kill();
            return;
          }
          running.pid = message.pid;
          running.backend = message.backend;
          settle?.resolve();
          return;
        case 'fatal':
          clearTimeout(timer);
          settle?.reject(AppError.fromData(message.error));
          running.stopping = message.error.message;
          process.kill();
          return;
        case 'event':
          this.pending.get(message.requestId)?.onEvent?.(message.data);
          return;
        case 'response': {
          const pending = this.pending.get(message.id);
          if (!pending) return;
          this.pending.delete(message.id);
          if (!message.ok) {
            pending.reject(AppError.fromData(message.error));
            return;
          }
          const result = engineMethods[pending.method].result.safeParse(message.result);
          if (result.success) pending.resolve(result.data);
          else
            pending.reject(
              new AppError(
                'INTERNAL',
                `The engine answered ${pending.method} with an invalid result`,
                result.error.message,
              ),
            );
          return;
        }
      }
    });
    process.onExit((exit) => {
      clearTimeout(timer);
      this.exited(running, exit);
      settle?.reject(
        new AppError('ENGINE_UNAVAILABLE', `The engine process exited while starting${describe(exit)}`),
      );
    });
    return running;
  }

  private exited(running: Running, exit: EngineExit): void {
    if (this.current === running) this.current = null;
    const crashed = running.stopping === null;
    const message = crashed
      ? `The engine process stopped unexpectedly${describe(exit)}`
      : (running.stopping ?? 'The engine process stopped');
    if (crashed && running.pid !== null) {
      this.lastCrash = { message, at: new Date().toISOString(), exitCode: exit.code, signal: exit.signal };
    }
    const error = new AppError('ENGINE_CRASHED', message, exit.stderr.trim() || undefined);
    for (const [id, pending] of this.pending) {
      if (pending.running !== running) continue;
      this.pending.delete(id);
      pending.reject(error);
    }
  }
}

function describe(exit: EngineExit): string {
  if (exit.signal) return ` (signal ${exit.signal})`;
  if (exit.code !== null) return ` (exit code ${exit.code})`;
  return '';
}
