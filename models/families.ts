// The model families the app knows, by config.json's model_type; the services load a folder's prompt rules
// through here and never name a family.
import { PromptFilesError, type ModelFamily, type PromptRules } from './family.js';
import { readModelJson } from './model-files.js';
import { qwen2_5_vl } from './qwen2_5_vl/family.js';

const families: readonly ModelFamily[] = [qwen2_5_vl];

/** The folder's family, from config.json's model_type; MODEL_FILE_INVALID for one the app does not know. */
export async function familyOf(dir: string): Promise<ModelFamily> {
  const config = await readModelJson(dir, 'config.json', true);
  const modelType: unknown =
    typeof config === 'object' && config !== null
      ? (config as { model_type?: unknown }).model_type
      : undefined;
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
