import { schemeTableau10 } from 'd3-scale-chromatic';
import { patternNames, type PatternName } from '../contract/engine.js';

// How each sparse pattern is shown wherever patterns appear (the app's grids and the exported figures): one colour
// and one label per pattern.

export const patternColours: Record<PatternName, string> = Object.fromEntries(
  patternNames.map((name, i) => [name, schemeTableau10[i % schemeTableau10.length] ?? '#888']),
) as Record<PatternName, string>;

export const patternLabels: Record<PatternName, string> = {
  dense: 'dense',
  a_shape: 'A-shape',
  vertical_slash: 'vertical-slash',
  block_sparse: 'block-sparse',
  grid: 'grid',
  q_boundary: 'Q-boundary',
  two_d_boundary: '2D-boundary',
};
