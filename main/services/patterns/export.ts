import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PatternFile } from '../../../app/contract/pattern-file.js';
import type { CapturedHead, Comparison } from '../../../app/contract/patterns.js';
import { comparisonCsv, runsCsv } from '../../../app/domain/pattern-compare.js';
import { gridImage, gridSvg, heatmapFileName, heatmapImage } from '../../../app/domain/pattern-figures.js';
import { patternCsv } from '../../../app/domain/pattern-summary.js';
import { decodeHeatmap } from '../../../app/domain/heatmap-record.js';
import { encodePng } from './png.js';

// Figures and numbers written to a folder (`--export DIR`): the same figures the app's Patterns view downloads.
// Each function answers the files it wrote.

async function write(dir: string, name: string, data: string | Buffer): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, name);
  await writeFile(file, data);
  return file;
}

/** grid.png, grid.svg and heads.csv of a pattern file. */
export async function writeFileFigures(dir: string, file: PatternFile, title: string): Promise<string[]> {
  return [
    await write(dir, 'grid.png', encodePng(gridImage(file))),
    await write(dir, 'grid.svg', gridSvg(file, title)),
    await write(dir, 'heads.csv', patternCsv(file)),
  ];
}

/** Each captured head's heatmaps: original and kernel order, each with and without the mask overlay. */
export async function writeHeatmapFigures(dir: string, heads: CapturedHead[]): Promise<string[]> {
  const written: string[] = [];
  for (const { heatmap } of heads) {
    const grids = decodeHeatmap(heatmap);
    if (grids === null) continue;
    for (const permuted of [false, true]) {
      for (const overlay of [false, true]) {
        const image = heatmapImage(grids, { permuted, overlay, scale: 'log' });
        written.push(
          await write(dir, heatmapFileName(heatmap.layer, heatmap.head, permuted, overlay), encodePng(image)),
        );
      }
    }
  }
  return written;
}

/** compare-heads.csv (per head under each file) and compare-runs.csv (times, density, recall, answers). */
export async function writeComparison(dir: string, comparison: Comparison): Promise<string[]> {
  return [
    await write(dir, 'compare-heads.csv', comparisonCsv(comparison)),
    await write(dir, 'compare-runs.csv', runsCsv(comparison)),
  ];
}
