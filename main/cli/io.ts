import { AppError, toErrorData } from '../../app/contract/errors.js';

// How CLI commands talk to the terminal: results on stdout, progress and errors on stderr. A failure is one line,
// `error CODE: message`, never a stack trace.

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (progress is shown only then). */
  interactive: boolean;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  interactive: process.stderr.isTTY === true,
};

export function reportError(io: CliIo, err: unknown): number {
  const { code, message } = toErrorData(err);
  io.err(`error ${code}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  return code === 'BAD_REQUEST' ? 2 : 1;
}

/** An AppError for bad command-line input (exit code 2). */
export function usageError(message: string): AppError {
  return new AppError('BAD_REQUEST', message);
}
