import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

// Every ffmpeg/ffprobe the services start is tracked here, so quitting the app (or a host closing) can kill them
// all at once instead of leaving decoders running.

const live = new Map<ChildProcess, Promise<void>>();

export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions): ChildProcess {
  const child = spawn(command, args, options);
  const closed = new Promise<void>((resolve) => {
    // 'close' comes after exit once the pipes are drained; 'error' alone when the process never started.
    child.once('close', () => resolve());
    child.once('error', () => {
      if (child.pid === undefined) resolve();
    });
  });
  live.set(child, closed);
  void closed.then(() => live.delete(child));
  return child;
}

/** Resolves once a tracked process has exited and its pipes have closed. */
export function waitForExit(child: ChildProcess): Promise<void> {
  return live.get(child) ?? Promise.resolve();
}

/** Kills every tracked child with SIGKILL and waits until each is gone. */
export async function killAllChildren(): Promise<void> {
  const waits = [...live].map(([child, closed]) => {
    child.kill('SIGKILL');
    return closed;
  });
  await Promise.all(waits);
}

/** Process ids of the tracked children still running. */
export function liveChildPids(): number[] {
  return [...live.keys()].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
}
