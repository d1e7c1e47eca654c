import { AppError } from '../../../app/contract/errors.js';
import { spawnTracked, waitForExit } from './child-processes.js';

// Runs a short ffmpeg/ffprobe command to completion (probe, version, one thumbnail): output collected in memory
// up to a cap, a time limit, and cancellation through an AbortSignal. Streaming decodes use decode.ts instead.

export interface ToolRun {
  code: number | null;
  /** The signal that ended it, when one did. */
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** The end of stderr (the part that names the error). */
  stderr: string;
}

export interface RunToolOptions {
  signal?: AbortSignal | undefined;
  timeoutMs?: number;
  maxStdoutBytes?: number;
}

const stderrTailBytes = 8192;

export async function runTool(
  command: string,
  args: readonly string[],
  options: RunToolOptions = {},
): Promise<ToolRun> {
  const { signal, timeoutMs = 30_000, maxStdoutBytes = 64 << 20 } = options;
  signal?.throwIfAborted();
  const child = spawnTracked(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout: Buffer[] = [];
  let stdoutBytes = 0;
  let overflow = false;
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length;
    if (stdoutBytes > maxStdoutBytes) {
      overflow = true;
      child.kill('SIGKILL');
    } else stdout.push(chunk);
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderr = (stderr + text).slice(-stderrTailBytes);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const spawnError = new Promise<Error | null>((resolve) => {
    child.once('error', resolve);
    child.once('spawn', () => resolve(null));
  });
  try {
    const failed = await spawnError;
    if (failed) {
      throw new AppError('FFMPEG_MISSING', `Cannot run ${command}: ${failed.message}`, command);
    }
    await waitForExit(child);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
  if (signal?.aborted) throw new AppError('CANCELLED', 'Cancelled');
  if (timedOut)
    throw new AppError('FFMPEG_FAILED', `${command} took longer than ${timeoutMs / 1000} s`, stderr.trim());
  if (overflow) throw new AppError('FFMPEG_FAILED', `${command} wrote more than ${maxStdoutBytes} bytes`);
  return { code: child.exitCode, signal: child.signalCode, stdout: Buffer.concat(stdout), stderr };
}
