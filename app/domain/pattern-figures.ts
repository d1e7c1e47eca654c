import { patternNames, type PatternName } from '../contract/engine.js';
import type { PatternFile } from '../contract/pattern-file.js';
import { domainFor, type ValueScale } from './heatmap-colour-scale.js';
import { maxOf, paintHeatmap } from './heatmap-paint.js';
import type { HeatmapRecord } from './heatmap-record.js';
import { patternColours, patternLabels } from './pattern-colours.js';
import { headRows } from './pattern-summary.js';

// Figures of pattern files, the same in the app (downloads) and from the CLI (--export): the layer×head grid
// coloured by pattern as SVG (labelled, a title per cell with its recall and density) and as RGBA pixels for a PNG,
// and a head's heatmaps as RGBA pixels scaled up by whole cells. Pure: the caller encodes the PNG (a canvas in the
// browser, zlib in Node).

export interface RgbaImage {
  width: number;
  height: number;
  /** width × height × 4 bytes, rows top to bottom. */
  data: Uint8ClampedArray<ArrayBuffer>;
}

function rgb(hex: string): [number, number, number] {
  return [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const pct = (v: number | null): string => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);

/** The grid as pixels: `cell` pixels per head with a `gap`-pixel white border around each, no text. */
export function gridImage(file: PatternFile, cell = 12, gap = 1): RgbaImage {
  const layers = file.layers.length;
  const heads = file.model.heads;
  const width = heads * (cell + gap) + gap;
  const height = layers * (cell + gap) + gap;
  const data = new Uint8ClampedArray(new ArrayBuffer(width * height * 4)).fill(255);
  for (const row of headRows(file)) {
    const [r, g, b] = rgb(patternColours[row.pattern]);
    const x0 = gap + row.head * (cell + gap);
    const y0 = gap + row.layer * (cell + gap);
    for (let y = y0; y < y0 + cell; y++) {
      for (let x = x0; x < x0 + cell; x++) data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

/** The grid as SVG: rows are layers, columns heads; a legend of the patterns present and the file's means. */
export function gridSvg(file: PatternFile, title: string): string {
  const rows = headRows(file);
  const cell = 14;
  const left = 48;
  const top = 40;
  const heads = file.model.heads;
  const layers = file.layers.length;
  const present = presentPatterns(file);
  const legendTop = top + layers * cell + 24;
  const width = Math.max(left + heads * cell + 16, 360);
  const height = legendTop + present.length * 18 + 8;
  const cells = rows.map((r) => {
    const tip = `layer ${r.layer}, head ${r.head}: ${patternLabels[r.pattern]}${r.budgets ? ` (${r.budgets})` : ''}; recall ${
      r.recall === null ? '—' : r.recall.toFixed(3)
    }, density ${pct(r.density)}, cost ${r.cost === null ? '—' : r.cost.toFixed(3)}`;
    return (
      `<rect x="${left + r.head * cell}" y="${top + r.layer * cell}" width="${cell - 1}" height="${cell - 1}" ` +
      `fill="${patternColours[r.pattern]}"><title>${escapeXml(tip)}</title></rect>`
    );
  });
  const headTicks = Array.from({ length: heads }, (_, h) => h)
    .filter((h) => heads <= 32 || h % 4 === 0)
    .map(
      (h) =>
        `<text x="${left + h * cell + cell / 2}" y="${top - 6}" text-anchor="middle" font-size="9">${h}</text>`,
    );
  const layerTicks = Array.from({ length: layers }, (_, l) => l)
    .filter((l) => layers <= 32 || l % 4 === 0)
    .map(
      (l) =>
        `<text x="${left - 6}" y="${top + l * cell + cell - 4}" text-anchor="end" font-size="9">${l}</text>`,
    );
  const legend = present.map((name, i) => {
    const count = rows.filter((r) => r.pattern === name).length;
    const y = legendTop + i * 18;
    return (
      `<rect x="${left}" y="${y}" width="12" height="12" fill="${patternColours[name]}"/>` +
      `<text x="${left + 18}" y="${y + 10}" font-size="11">${escapeXml(patternLabels[name])}: ${count}</text>`
    );
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="16" font-size="12" font-weight="bold">${escapeXml(title)}</text>`,
    `<text x="${left + (heads * cell) / 2}" y="${top - 18}" text-anchor="middle" font-size="10">head</text>`,
    `<text x="12" y="${top + (layers * cell) / 2}" font-size="10" transform="rotate(-90 12 ${top + (layers * cell) / 2})" text-anchor="middle">layer</text>`,
    ...headTicks,
    ...layerTicks,
    ...cells,
    ...legend,
    '</svg>',
    '',
  ].join('\n');
}

/** The grids one head's heatmap export needs (a capture's record, decoded). */
export type HeatmapGrids = Pick<
  HeatmapRecord,
  'grid' | 'mass' | 'massPermuted' | 'mask' | 'maskPermuted' | 'rowSamples' | 'rowSamplesPermuted'
>;

/** A head's heatmap as the explorer paints it (original or kernel order, mask overlay or not; one scale for both
 * orders), each cell `scale` pixels wide. Cells without mass are white rather than transparent. */
export function heatmapImage(
  h: HeatmapGrids,
  options: { permuted: boolean; overlay: boolean; scale: ValueScale; cell?: number },
): RgbaImage {
  const domain = domainFor(options.scale, maxOf(h.mass, h.massPermuted));
  const cells = paintHeatmap({
    grid: h.grid,
    mass: options.permuted ? h.massPermuted : h.mass,
    mask: options.overlay ? (options.permuted ? h.maskPermuted : h.mask) : null,
    rowSamples: options.permuted ? h.rowSamplesPermuted : h.rowSamples,
    domain,
  });
  const k = Math.max(1, options.cell ?? Math.ceil(256 / h.grid));
  const size = h.grid * k;
  const data = new Uint8ClampedArray(new ArrayBuffer(size * size * 4));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const from = (Math.floor(y / k) * h.grid + Math.floor(x / k)) * 4;
      const to = (y * size + x) * 4;
      const alpha = cells[from + 3] ?? 0;
      if (alpha === 0) data.set([255, 255, 255, 255], to);
      else data.set(cells.subarray(from, from + 4), to);
    }
  }
  return { width: size, height: size, data };
}

/** The file name a head's heatmap export gets. */
export function heatmapFileName(layer: number, head: number, permuted: boolean, overlay: boolean): string {
  return `heatmap-L${layer}-H${head}-${permuted ? 'permuted' : 'original'}${overlay ? '-mask' : ''}.png`;
}

/** The patterns a file uses, in the schema's order (what a legend lists). */
export function presentPatterns(file: PatternFile): PatternName[] {
  const rows = headRows(file);
  return patternNames.filter((name) => rows.some((r) => r.pattern === name));
}
