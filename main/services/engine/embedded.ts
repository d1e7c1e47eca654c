import { appLayout, resourcePaths, type AppLayout } from '../resources.js';

// The embedded default (models/qwen2_5_vl/demo/README.md): with no model chosen, questions go to the demo model (a
// small Qwen2.5-VL trained on synthetic videos) with its pattern file, about the bundled needle video when none is
// given. It knows only its synthetic world, and everything that shows its answers says so.

export const embeddedNotice =
  'Answers come from the embedded demo model: a small Qwen2.5-VL trained only on synthetic videos (coloured ' +
  'shapes shown briefly over plain, gradient, striped or checkerboard scenes). Asked about such a video — what ' +
  'colour or shape appeared, where, how many times, which came first, what the scene is — its answers can be ' +
  'checked (its folder’s training.json gives its accuracy); about anything else they mean nothing. ' +
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
