import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PatternFile as PatternFileJson } from '../../../app/contract/pattern-file.js';
import {
  checkPatternModel,
  parsePatternFile,
  type PatternModelIdentity,
} from '../../../app/domain/pattern-file-check.js';
import type { Model, PatternFile } from '../../../native/model.js';

// Pattern files as the pattern jobs open them: read and checked on the TypeScript side first (the schema's mirror,
// then the model's identity), so a bad file fails with the same kind and JSON path whichever side reads it, then
// loaded by the engine.

/** What a pattern file must match for the model in `dir`: its sizes and the SHA-256 of its config.json. */
export async function modelIdentity(
  dir: string,
  info: { family: string; textLayers: number; heads: number; kvHeads: number; headDim: number },
): Promise<PatternModelIdentity> {
  const config = await readFile(path.join(dir, 'config.json'));
  return {
    family: info.family,
    layers: info.textLayers,
    heads: info.heads,
    kvHeads: info.kvHeads,
    headDim: info.headDim,
    configSha256: createHash('sha256').update(config).digest('hex'),
  };
}

export async function openPatternFile(
  model: Model,
  dir: string,
  file: string,
  signal: AbortSignal,
): Promise<{ json: PatternFileJson; native: PatternFile }> {
  const json = parsePatternFile(await readFile(file, 'utf8'), file);
  checkPatternModel(json, await modelIdentity(dir, model.info()), {}, file);
  return { json, native: await model.loadPatternFile(file, { signal }) };
}
