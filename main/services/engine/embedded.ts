import { appLayout, resourcePaths, type AppLayout } from '../resources.js';

// The embedded default (models/qwen2_5_vl/demo/README.md): with no model chosen, questions go to the tiny fixture
// model with its pattern file, about the bundled synthetic video when none is given. Its answers are noise, and
// everything that shows them says so.

export const embeddedNotice =
  'Answers come from the embedded demo model: a tiny model with random weights, so they are not meaningful. ' +
  'Choose a Qwen2.5-VL model folder for real answers.';

export interface EmbeddedDefault {
  modelDir: string;
  patterns: string;
  video: string;
  /** The embedded model's prompts are short: its pattern file applies at any length, so the heatmaps show masks. */
  denseBelowTokens: number;
}

export function embeddedDefault(layout: AppLayout = appLayout()): EmbeddedDefault {
  return { ...resourcePaths(layout).embedded, denseBelowTokens: 0 };
}
