import { AppError, toErrorData } from '../../../app/contract/errors.js';
import type { EngineBackend } from '../../../app/contract/engine.js';
import { backendInfo } from '../../../native/model.js';
import { engineError } from './errors.js';
import {
  ENGINE_PROTOCOL,
  engineMethods,
  HostRequestSchema,
  isEngineMethod,
  type EngineMethod,
  type EngineParams,
  type EngineResult,
  type HostMessage,
} from './protocol.js';
import { EngineRunner } from './runner.js';

// The engine process's side of the protocol: every message is validated; a bad one is answered BAD_REQUEST (or,
// without a usable id, ignored) and the host carries on. Asks run one at a time in arrival order (they share the
// model); inspect, cancel and forget are answered at once.

export type Send = (message: HostMessage) => void;

/** Where models loaded with device 'auto' run (the GPU when usable, unless MMI_DEVICE says otherwise); each answer
 * reports the device it ran on. */
export function backendReport(): EngineBackend {
  const info = backendInfo();
  return {
    device: info.autoDevice,
    cpuThreads: info.cpuThreads,
    cudaBuilt: info.cudaBuilt,
    gpus: info.gpuCount,
    detail: info.detail,
  };
}

export class HostServer {
  private readonly runner = new EngineRunner();
  private readonly running = new Map<number, AbortController>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly send: Send) {}

  /** The first message: the protocol version and where the engine computes. Fails without the addon. */
  hello(pid: number): void {
    this.send({ type: 'ready', protocol: ENGINE_PROTOCOL, pid, backend: backendReport() });
  }

  receive(raw: unknown): void {
    const parsed = HostRequestSchema.safeParse(raw);
    if (!parsed.success) {
      const id = (raw as { id?: unknown } | null)?.id;
      if (typeof id === 'number' && Number.isInteger(id) && id >= 0) {
        this.fail(id, new AppError('BAD_REQUEST', 'Not an engine request', parsed.error.message));
      }
      return;
    }
    const { id, method, params } = parsed.data;
    if (!isEngineMethod(method)) {
      this.fail(id, new AppError('BAD_REQUEST', `Unknown engine method: ${method}`));
      return;
    }
    const checked = engineMethods[method].params.safeParse(params);
    if (!checked.success) {
      this.fail(id, new AppError('BAD_REQUEST', `Invalid params for ${method}`, checked.error.message));
      return;
    }
    void this.run(id, method, checked.data);
  }

  private async run<M extends EngineMethod>(id: number, method: M, params: EngineParams<M>): Promise<void> {
    try {
      const result = await this.handle(id, method, params);
      this.send({ type: 'response', id, ok: true, result });
    } catch (err) {
      this.fail(id, err);
    }
  }

  private async handle<M extends EngineMethod>(
    id: number,
    method: M,
    raw: EngineParams<M>,
  ): Promise<EngineResult<M>> {
    switch (method) {
      case 'inspect': {
        const params = raw as EngineParams<'inspect'>;
        return (await this.runner.inspect(params.model, params.patterns)) as EngineResult<M>;
      }
      case 'cancel':
        this.running.get((raw as EngineParams<'cancel'>).requestId)?.abort();
        return {} as EngineResult<M>;
      case 'forget':
        this.runner.forget((raw as EngineParams<'forget'>).conversationId);
        return {} as EngineResult<M>;
      case 'ask':
        return (await this.ask(id, raw as EngineParams<'ask'>)) as EngineResult<M>;
    }
    throw new AppError('BAD_REQUEST', `Unknown engine method: ${String(method)}`);
  }

  private ask(id: number, params: EngineParams<'ask'>): Promise<EngineResult<'ask'>> {
    const controller = new AbortController();
    this.running.set(id, controller);
    const turn = this.queue.then(() => {
      if (controller.signal.aborted) throw new AppError('CANCELLED', 'Cancelled');
      return this.runner.ask(
        params,
        (event) => this.send({ type: 'event', requestId: id, data: event }),
        controller.signal,
      );
    });
    this.queue = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn.finally(() => this.running.delete(id));
  }

  private fail(id: number, err: unknown): void {
    this.send({ type: 'response', id, ok: false, error: toErrorData(engineError(err)) });
  }
}
