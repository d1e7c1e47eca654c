// The model families the app knows, by config.json's model_type; the services load a folder's prompt rules
// through here and never name a family.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

import { PromptFilesError, type ModelFamily, type PromptRules } from './family.js';
import { qwen2_5_vl } from './qwen2_5_vl/family.js';

const families: readonly ModelFamily[] = [qwen2_5_vl];

/** The folder's family, from config.json's model_type; MODEL_FILE_INVALID for one the app does not know. */
export async function familyOf(dir: string): Promise<ModelFamily> {
  let modelType: unknown;
  try {
    modelType = (
      JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as { model_type?: unknown }
    ).model_type;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new PromptFilesError(
      missing ? 'MODEL_FILE_MISSING' : 'MODEL_FILE_INVALID',
      'config.json',
      missing ? 'cannot be read' : `is not valid JSON (${(err as Error).message})`,
    );
  }
  const family = families.find((f) => f.modelType === modelType);
  if (!family) {
    const known = families.map((f) => f.modelType).join(', ');
    throw new PromptFilesError(
      'MODEL_FILE_INVALID',
      'config.json',
      `model_type ${JSON.stringify(modelType)} is not a family this app runs (${known})`,
    );
  }
  return family;
}

/** A model folder's prompt rules, by its family. */
export async function loadPromptRules(dir: string): Promise<PromptRules> {
  return (await familyOf(dir)).loadRules(dir);
}
