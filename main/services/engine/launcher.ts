import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resourcePaths } from '../resources.js';

// How the engine host process is started. Under plain Node (CLI, web host, tests) it is child_process.fork; the
// desktop app passes a launcher over Electron's utilityProcess (docs/architecture.md §1). Either way the app sees the same
// small surface: send, messages, exit, kill.

export interface EngineExit {
  code: number | null;
  signal: string | null;
  /** The end of what the process wrote to stderr (a native crash's last words). */
  stderr: string;
}

export interface EngineProcess {
  readonly pid: number | undefined;
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  /** Called once, when the process has exited (or could not start). */
  onExit(listener: (exit: EngineExit) => void): void;
  kill(): void;
}

export type EngineLauncher = (entry: string) => EngineProcess;

const stderrTail = 4096;

export const forkLauncher: EngineLauncher = (entry) => {
  const child = fork(entry, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-stderrTail);
  });
  let exited = false;
  const exitListeners: ((exit: EngineExit) => void)[] = [];
  const finish = (code: number | null, signal: string | null): void => {
    if (exited) return;
    exited = true;
    for (const listener of exitListeners) listener({ code, signal, stderr });
  };
  // 'close' waits for stderr to drain, so the crash message is complete; 'error' alone when it never started.
  child.once('close', (code, signal) => finish(code, signal));
  child.once('error', (err) => {
    stderr += err.message;
    if (child.pid === undefined) finish(null, null);
  });
  return {
    pid: child.pid,
    send: (message) => {
      if (child.connected) child.send(message as object);
    },
    onMessage: (listener) => child.on('message', listener),
    onExit: (listener) => exitListeners.push(listener),
    kill: () => {
      child.kill('SIGKILL');
    },
  };
};

/** The compiled host entry (dist/ of the app folder), or null when it is not built. */
export function engineHostEntry(): string | null {
  const entry = resourcePaths().engineHost;
  return existsSync(entry) ? entry : null;
}
