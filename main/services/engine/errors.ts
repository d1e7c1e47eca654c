import { AppError, type ErrorCode } from '../../../app/contract/errors.js';
import { MmiError, type MmiErrorCode } from '../../../native/errors.js';
import { PromptFilesError } from '../../../models/family.js';

// The engine's failures as the app's error codes, keeping what the engine said about the file and tensor.

const codes: Record<MmiErrorCode, ErrorCode> = {
  MMI_INVALID_ARGUMENT: 'BAD_REQUEST',
  MMI_NON_FINITE: 'INTERNAL',
  MMI_CANCELLED: 'CANCELLED',
  MMI_OUT_OF_MEMORY: 'OUT_OF_MEMORY',
  MMI_INTERNAL: 'INTERNAL',
  MMI_NOT_FOUND: 'FILE_NOT_FOUND',
  MMI_MODEL_INVALID: 'MODEL_INVALID',
  MMI_UNSUPPORTED_MODEL: 'MODEL_INVALID',
  MMI_PATTERN_FILE_INVALID: 'PATTERN_FILE_INVALID',
  MMI_DEVICE_UNAVAILABLE: 'ENGINE_UNAVAILABLE',
  MMI_DEVICE_ERROR: 'INTERNAL',
  MMI_ADDON_UNAVAILABLE: 'ENGINE_UNAVAILABLE',
};

export function engineError(err: unknown): unknown {
  if (err instanceof MmiError) {
    const detail = [err.kind, err.file, err.subject].filter((part) => part !== undefined && part !== '');
    return new AppError(codes[err.code], err.message, detail.length > 0 ? detail.join(': ') : undefined);
  }
  if (err instanceof PromptFilesError) return new AppError('MODEL_INVALID', err.message, err.file);
  if (err instanceof RangeError) return new AppError('BAD_REQUEST', err.message);
  return err;
}
