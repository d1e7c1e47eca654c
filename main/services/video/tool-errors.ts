import { AppError, type ErrorCode } from '../../../app/contract/errors.js';

// ffmpeg and ffprobe say what went wrong only in words on stderr. These are the phrases both the 2018 static
// build and current releases print, mapped to the app's error codes. The tool's own words travel as the detail.

const patterns: ReadonlyArray<readonly [RegExp, ErrorCode, string]> = [
  [/No such file or directory/i, 'FILE_NOT_FOUND', 'The file does not exist'],
  [/Permission denied/i, 'NOT_ALLOWED', 'The file cannot be read (permission denied)'],
  [
    /moov atom not found|ended prematurely|Truncat|corrupt|Invalid NAL|error while decoding|EBML header parsing failed|Packet corrupt|partial file/i,
    'CORRUPT_MEDIA',
    'The file is truncated or corrupt',
  ],
  [
    /Decoder \(codec \S+\) not found|Unsupported codec|no decoder|Unknown decoder/i,
    'UNSUPPORTED_CODEC',
    'The codec is not supported',
  ],
  [
    /Invalid data found when processing input|could not find codec parameters|Unknown input format/i,
    'NOT_MEDIA',
    'Not a media file',
  ],
];

/** The last meaningful line of a tool's stderr: what a person needs to see. */
export function lastLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return lines.at(-1) ?? '';
}

/** An AppError for a failed ffmpeg/ffprobe run on `file`, classified from its stderr; a run ended by a signal
 * (killed, or crashed) says so, whatever it had printed before. */
export function toolFailure(
  tool: string,
  file: string,
  code: number | null,
  stderr: string,
  signal: NodeJS.Signals | null = null,
): AppError {
  if (signal !== null) {
    return new AppError(
      'FFMPEG_FAILED',
      `${tool} was stopped by ${signal} while reading ${file}`,
      stderr.trim() || undefined,
    );
  }
  const detail = stderr.trim() || `${tool} exited with code ${String(code)}`;
  for (const [pattern, errorCode, message] of patterns) {
    if (pattern.test(stderr)) return new AppError(errorCode, `${message}: ${file}`, detail);
  }
  const said = lastLine(stderr);
  return new AppError(
    'FFMPEG_FAILED',
    `${tool} failed on ${file}${said ? `: ${said}` : ` (exit code ${String(code)})`}`,
    detail,
  );
}
