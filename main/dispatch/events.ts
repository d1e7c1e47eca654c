import { events, type EventName, type EventPayload } from '../../app/contract/contract.js';
import type { EventMessage } from '../../app/contract/protocol.js';

/** An event as the transports carry it; the payload is checked against the contract before it leaves. */
export function eventMessage<K extends EventName>(event: K, payload: EventPayload<K>): EventMessage {
  return { kind: 'event', event, payload: events[event].parse(payload) };
}
