import { AppError } from '../../../app/contract/errors.js';
import { PatternFileError } from '../../../app/domain/pattern-file-check.js';
import { engineError } from '../engine/errors.js';

/** A pattern job's failures as the app's error codes: pattern files as PATTERN_FILE_INVALID with their kind and JSON
 * path, the engine's as the engine host reports them. */
export function patternsError(err: unknown): unknown {
  if (err instanceof PatternFileError) {
    return new AppError(
      'PATTERN_FILE_INVALID',
      err.message,
      err.where ? `${err.kind}: ${err.where}` : err.kind,
    );
  }
  return engineError(err);
}
