import {
  commands,
  events,
  isCommandName,
  isEventName,
  type AppApi,
  type CommandName,
  type CommandParams,
  type CommandResult,
  type EventName,
  type EventPayload,
} from '../../../app/contract/contract.js';
import { AppError } from '../../../app/contract/errors.js';
import {
  ServerMessageSchema,
  type RequestMessage,
  type ServerMessage,
} from '../../../app/contract/protocol.js';

// The transport-independent half of both clients: numbers requests, matches responses, validates every arriving
// message against the contract and fans events out to listeners. A transport supplies `send` and feeds what it
// receives to `receive`.

type AnyListener = (payload: unknown) => void;

interface Pending {
  method: CommandName;
  resolve: (value: unknown) => void;
  reject: (error: AppError) => void;
}

export interface WireClient extends AppApi {
  /** Feed one message received from the host (any shape: it is validated here). */
  receive(raw: unknown): void;
  /** Fail every request still waiting, e.g. when the connection is lost. */
  failPending(error: AppError): void;
}

export function createWireClient(send: (message: RequestMessage) => void): WireClient {
  let nextId = 1;
  const pending = new Map<number, Pending>();
  const listeners = new Map<EventName, Set<AnyListener>>();

  function settle(message: Extract<ServerMessage, { kind: 'response' }>): void {
    const request = pending.get(message.id);
    if (!request) return;
    pending.delete(message.id);
    if (!message.ok) {
      request.reject(AppError.fromData(message.error));
      return;
    }
    const parsed = commands[request.method].result.safeParse(message.result);
    if (parsed.success) request.resolve(parsed.data);
    else
      request.reject(
        new AppError(
          'INTERNAL',
          `The host's answer to ${request.method} does not match the contract`,
          parsed.error.message,
        ),
      );
  }

  function deliver(name: string, payload: unknown): void {
    if (!isEventName(name)) {
      console.warn(`Ignoring unknown event ${name}`);
      return;
    }
    const parsed = events[name].safeParse(payload);
    if (!parsed.success) {
      console.warn(`Ignoring event ${name} that does not match the contract`, parsed.error.message);
      return;
    }
    for (const listener of listeners.get(name) ?? []) listener(parsed.data);
  }

  return {
    call<K extends CommandName>(method: K, params: CommandParams<K>): Promise<CommandResult<K>> {
      if (!isCommandName(method))
        return Promise.reject(new AppError('BAD_REQUEST', `Unknown command ${String(method)}`));
      const id = nextId++;
      return new Promise<CommandResult<K>>((resolve, reject) => {
        pending.set(id, { method, resolve: resolve as (value: unknown) => void, reject });
        try {
          send({ kind: 'request', id, method, params });
        } catch (err) {
          pending.delete(id);
          reject(
            new AppError(
              'INTERNAL',
              `Could not send ${method}: ${err instanceof Error ? err.message : String(err)}`,
            ),
          );
        }
      });
    },
    on<K extends EventName>(event: K, listener: (payload: EventPayload<K>) => void): () => void {
      const set = listeners.get(event) ?? new Set<AnyListener>();
      listeners.set(event, set);
      const wrapped = listener as AnyListener;
      set.add(wrapped);
      return () => set.delete(wrapped);
    },
    receive(raw: unknown): void {
      const parsed = ServerMessageSchema.safeParse(raw);
      if (!parsed.success) {
        console.warn(
          'Ignoring a message from the host that is not a response or an event',
          parsed.error.message,
        );
        return;
      }
      const message = parsed.data;
      if (message.kind === 'response') settle(message);
      else deliver(message.event, message.payload);
    },
    failPending(error: AppError): void {
      for (const request of pending.values()) request.reject(error);
      pending.clear();
    },
  };
}
