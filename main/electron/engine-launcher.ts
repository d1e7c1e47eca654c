import { utilityProcess } from 'electron';
import type { EngineExit, EngineLauncher } from '../services/engine/launcher.js';

// The engine host in the desktop app: Electron's utilityProcess (docs/architecture.md §1). child_process.fork would need
// the Electron binary to run as Node, which the packaged app's fuses forbid; a utility process is a Node process
// Electron starts itself, and a native crash there ends only that process.

const stderrTail = 4096;

export const utilityLauncher: EngineLauncher = (entry) => {
  const child = utilityProcess.fork(entry, [], {
    stdio: ['ignore', 'ignore', 'pipe'],
    serviceName: 'MMI engine',
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-stderrTail);
  });
  const exitListeners: ((exit: EngineExit) => void)[] = [];
  let alive = true;
  child.once('exit', (code) => {
    alive = false;
    for (const listener of exitListeners) listener({ code, signal: null, stderr });
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (message) => {
      if (alive) child.postMessage(message);
    },
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => exitListeners.push(listener),
    kill: () => {
      child.kill();
    },
  };
};
