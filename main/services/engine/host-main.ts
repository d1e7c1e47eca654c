import { toErrorData } from '../../../app/contract/errors.js';
import { engineError } from './errors.js';
import { HostServer } from './host-server.js';
import type { HostMessage } from './protocol.js';
import { useLayoutAddon } from '../resources.js';

// The engine host process's entry point (forked by the app with an IPC channel; Electron's utilityProcess gives
// the same through process.parentPort). It answers the app's requests until the channel closes; a crash here
// takes only this process down, and the app reports it and can start another.

interface ParentPort {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
}

useLayoutAddon();

const parentPort = (process as NodeJS.Process & { parentPort?: ParentPort }).parentPort;

function send(message: HostMessage): void {
  if (parentPort) parentPort.postMessage(message);
  else process.send?.(message);
}

const server = new HostServer(send);
if (parentPort) parentPort.on('message', (event) => server.receive(event.data));
else process.on('message', (message) => server.receive(message));
// The app went away: nothing is left to answer.
process.on('disconnect', () => process.exit());

try {
  server.hello(process.pid);
} catch (err) {
  // The app ends this process when it reads this.
  process.exitCode = 1;
  send({ type: 'fatal', error: toErrorData(engineError(err)) });
}
