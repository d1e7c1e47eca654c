import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HeadRef } from '../../app/contract/engine.js';
import { AppError } from '../../app/contract/errors.js';
import type { HeatmapsParams } from '../../app/contract/patterns.js';
import { parsePatternFile, PatternFileError } from '../../app/domain/pattern-file-check.js';
import type { ApiContext } from '../dispatch/index.js';
import { writeFileFigures, writeHeatmapFigures } from '../services/patterns/export.js';
import { call } from './context.js';
import { usageError } from './io.js';
import type { PatternJobs } from './pattern-jobs.js';
import { samplingFlags } from './sampling-flags.js';

// What `mmi search-patterns` and `mmi compare-patterns` share: the sampling and export flags, heads given as L:H,
// and the figures and numbers `--export DIR` writes.

/** Sampling, export and output flags both commands take. */
export const sharedFlags = {
  ...samplingFlags,
  export: { type: 'string' },
  heatmaps: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const;

/** "0:1,2:3" → heads (layer 0 head 1, layer 2 head 3). */
export function parseHeads(text: string): HeadRef[] {
  return text.split(',').map((part) => {
    const match = /^\s*(\d+):(\d+)\s*$/.exec(part);
    if (!match) throw usageError(`--heatmaps needs LAYER:HEAD pairs separated by commas, not "${part}"`);
    return { layer: Number(match[1]), head: Number(match[2]) };
  });
}

/** grid.png, grid.svg and heads.csv of a pattern file, read and checked first. */
async function exportFileFigures(dir: string, file: string): Promise<string[]> {
  try {
    const parsed = parsePatternFile(await readFile(file, 'utf8'), file);
    return await writeFileFigures(dir, parsed, `${path.basename(file)}: ${parsed.model.family}`);
  } catch (err) {
    if (err instanceof PatternFileError) throw new AppError('PATTERN_FILE_INVALID', err.message);
    throw err;
  }
}

/**
 * A pattern file's figures and numbers in `dir`, and with `heads`, those heads' heatmaps on the video under the
 * file (captured by a patterns.heatmaps job). Answers the files written.
 */
export async function exportPatterns(
  ctx: ApiContext,
  jobs: PatternJobs,
  dir: string,
  file: string,
  heads: HeadRef[] | null,
  capture: Omit<HeatmapsParams, 'patterns' | 'heads'>,
): Promise<string[]> {
  const written = await exportFileFigures(dir, file);
  if (heads === null) return written;
  const params: HeatmapsParams = { ...capture, patterns: file, heads };
  const job = await jobs.run((jobId) => call(ctx, 'patterns.heatmaps', { ...params, jobId }), {
    onProgress: () => undefined,
  });
  const result = await job.result;
  if (result.kind !== 'patterns.heatmaps')
    throw new AppError('INTERNAL', `unexpected job result ${result.kind}`);
  return [...written, ...(await writeHeatmapFigures(dir, result.heatmaps.heads))];
}
