import path from 'node:path';
import { packageRoot, unpackedPath } from '../package-root.js';

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

export function embeddedDefault(root: string = packageRoot()): EmbeddedDefault {
  const family = unpackedPath(path.join(root, 'models', 'qwen2_5_vl'));
  return {
    modelDir: path.join(family, 'fixtures', 'tiny-a', 'model'),
    patterns: path.join(family, 'patterns', 'tiny-a.json'),
    video: path.join(family, 'demo', 'testsrc2-4s.mp4'),
    denseBelowTokens: 0,
  };
}
