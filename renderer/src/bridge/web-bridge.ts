import { AppError } from '../../../app/contract/errors.js';
import type { RequestMessage } from '../../../app/contract/protocol.js';
import type { ConnectionState, HostBridge } from './bridge.js';
import { createWireClient } from './wire-client.js';

/** Path of the web host's WebSocket; the host checks the token, Origin and Host before upgrading. */
export const socketPath = '/api/ws';

// Browser: one WebSocket to the web host that served the page. The per-run token comes from the page URL the
// host printed; it is sent on the socket and on every API URL.
export function createWebBridge(location: Location): HostBridge {
  const token = new URLSearchParams(location.search).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}${socketPath}?token=${encodeURIComponent(token)}`);
  const queued: RequestMessage[] = [];
  let state: ConnectionState = 'connecting';
  const stateListeners = new Set<(state: ConnectionState) => void>();

  const setState = (next: ConnectionState): void => {
    state = next;
    for (const listener of stateListeners) listener(next);
  };

  const wire = createWireClient((message) => {
    if (state === 'lost') throw new Error('the connection to the web host is closed');
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    else queued.push(message);
  });

  socket.addEventListener('open', () => {
    for (const message of queued.splice(0)) socket.send(JSON.stringify(message));
    setState('open');
  });
  socket.addEventListener('message', (event) => {
    if (typeof event.data !== 'string') return;
    let raw: unknown;
    try {
      raw = JSON.parse(event.data);
    } catch {
      console.warn('Ignoring a message from the web host that is not JSON');
      return;
    }
    wire.receive(raw);
  });
  socket.addEventListener('close', (event) => {
    setState('lost');
    const why = event.reason ? `: ${event.reason}` : '';
    wire.failPending(
      new AppError('INTERNAL', `The connection to the web host closed (code ${event.code}${why})`),
    );
  });

  return {
    host: 'web',
    call: wire.call,
    on: wire.on,
    resolveUrl(apiPath) {
      const url = new URL(apiPath, location.origin);
      url.searchParams.set('token', token);
      return url.pathname + url.search;
    },
    onConnection(listener) {
      stateListeners.add(listener);
      listener(state);
      return () => stateListeners.delete(listener);
    },
  };
}
