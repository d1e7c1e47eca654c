import { statfsSync } from 'node:fs';
import path from 'node:path';
import { AppError } from '../../../app/contract/errors.js';
import { PatternFileError } from '../../../app/domain/pattern-file-check.js';
import { MmiError } from '../../../native/errors.js';
import { engineError } from '../engine/errors.js';

/** A pattern job's failures as the app's error codes: pattern files as PATTERN_FILE_INVALID with their kind and JSON
 * path, a file the engine could not write (the pattern file or the checkpoint) as FILE_UNWRITABLE with whether its
 * disk is full, the engine's other errors as the engine host reports them. */
export function patternsError(err: unknown): unknown {
  if (err instanceof PatternFileError) {
    return new AppError(
      'PATTERN_FILE_INVALID',
      err.message,
      err.where ? `${err.kind}: ${err.where}` : err.kind,
    );
  }
  if (err instanceof MmiError && err.kind === 'FileUnwritable' && err.file) {
    return new AppError('FILE_UNWRITABLE', `${err.message}${diskFull(err.file)}`, `${err.kind}: ${err.file}`);
  }
  return engineError(err);
}

/** Why a write may have failed, as the folder's file system tells: no bytes or no files left. The engine writes a
 * pattern file beside itself and renames it into place (save_pattern_file), so an earlier file is unchanged. */
function diskFull(file: string): string {
  try {
    const fs = statfsSync(path.dirname(file));
    const bytes = fs.bavail * fs.bsize;
    if (bytes >= 64 * 1024 && fs.ffree > 0) return '';
    const left = fs.ffree > 0 ? `${Math.floor(bytes / 1024)} KiB free` : 'no file entries free';
    return `: the disk is full (${left}); any earlier file there is unchanged`;
  } catch {
    return '';
  }
}
