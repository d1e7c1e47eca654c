import type { PatternFile } from '../../../app/contract/pattern-file.js';
import { rampIndex, ramp } from '../../../app/domain/heatmap-colour-scale.js';
import { patternColours, patternLabels } from '../../../app/domain/pattern-colours.js';
import { headRows, type HeadRow } from '../../../app/domain/pattern-summary.js';
import { LayerHeadGrid } from '../views/LayerHeadGrid.js';
import type { GridColour } from './patterns-store.js';

function rampColour(value: number): string {
  const i = rampIndex(value, { scale: 'linear', min: 0, max: 1 }) * 3;
  return `rgb(${ramp[i] ?? 0}, ${ramp[i + 1] ?? 0}, ${ramp[i + 2] ?? 0})`;
}

function describe(r: HeadRow): string {
  const n = (v: number | null, digits: number) => (v === null ? 'not measured' : v.toFixed(digits));
  return (
    `Layer ${r.layer}, head ${r.head}: ${patternLabels[r.pattern]}` +
    `, recall ${n(r.recall, 3)}, density ${r.density === null ? 'not measured' : `${(r.density * 100).toFixed(1)}%`}` +
    `, cost ${n(r.cost, 3)}`
  );
}

function background(r: HeadRow, colour: GridColour): string {
  if (colour === 'pattern') return patternColours[r.pattern];
  const value = colour === 'recall' ? r.recall : r.density;
  return value === null ? 'transparent' : rampColour(value);
}

/**
 * A pattern file's layer×head grid: each head coloured by its pattern (or by its calibration recall or density on
 * the viridis ramp), its numbers in its label; one cell in the tab order, the arrows move the selection.
 */
export function PatternGrid(props: {
  file: PatternFile;
  colour: GridColour;
  layer: number;
  head: number;
  onSelect: (layer: number, head: number) => void;
}) {
  const { file, colour, ...selection } = props;
  // A checked file lists every layer and, in each, every head in order.
  const rows = headRows(file);
  const heads = file.model.heads;
  return (
    <LayerHeadGrid
      {...selection}
      label="Pattern file: layers and heads"
      className="head-grid pattern-grid"
      layers={file.layers.length}
      heads={heads}
      cell={(l, h) => {
        const r = rows[l * heads + h]!;
        return { label: describe(r), pattern: r.pattern, style: { background: background(r, colour) } };
      }}
    />
  );
}
