// The pure rules around pattern files: candidates written on a command line (every form, refusals with the field),
// summaries counted against the file itself, CSV quoting, answer agreement and predicted pre-fill time, and the
// figures (grid and heatmap pixels, the grid's SVG, PNG bytes read back with zlib).
import { readFileSync } from 'node:fs';
import { crc32, inflateSync } from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { CandidateSchema, type PatternFile } from '../../../../app/contract/pattern-file.js';
import { paintHeatmap } from '../../../../app/domain/heatmap-paint.js';
import { domainFor } from '../../../../app/domain/heatmap-colour-scale.js';
import {
  parseCandidateSpec,
  presetCandidates,
  CandidateSpecError,
} from '../../../../app/domain/pattern-candidates.js';
import { answerAgreement, predictedPrefillMs } from '../../../../app/domain/pattern-compare.js';
import { gridImage, gridSvg, heatmapImage } from '../../../../app/domain/pattern-figures.js';
import { parsePatternFile } from '../../../../app/domain/pattern-file-check.js';
import { patternColours } from '../../../../app/domain/pattern-colours.js';
import {
  formatCandidate,
  patternCsv,
  summarizePatternFile,
  toCsv,
} from '../../../../app/domain/pattern-summary.js';
import { encodePng } from '../../../../main/services/patterns/png.js';
import {
  everyPattern,
  fixturePatternFile,
  handWritten,
  readJsonFile,
} from '../../../support/pattern-files.js';

const tinyA = parsePatternFile(readFileSync(fixturePatternFile('tiny-a'), 'utf8'));
const mixed = parsePatternFile(
  JSON.stringify(handWritten(readJsonFile(fixturePatternFile('tiny-a')).model as never)),
);

describe('candidates on the command line', () => {
  it('reads every budget form into the schema’s shape', () => {
    expect(parseCandidateSpec('vertical_slash:vertical=1000@131072,slash=4096@131072')).toEqual({
      pattern: 'vertical_slash',
      budgets: {
        vertical: { count: 1000, reference_tokens: 131072 },
        slash: { count: 4096, reference_tokens: 131072 },
      },
    });
    expect(parseCandidateSpec('a_shape:sink_tokens=64,local_tokens=1/16')).toEqual({
      pattern: 'a_shape',
      budgets: { sink_tokens: { count: 64 }, local_tokens: { fraction: 0.0625 } },
    });
    expect(parseCandidateSpec('grid:sink_tokens=64,local_tokens=0.015625,grid_lines=4').budgets).toEqual({
      sink_tokens: { count: 64 },
      local_tokens: { fraction: 0.015625 },
      grid_lines: { count: 4 },
    });
    expect(parseCandidateSpec('dense')).toEqual({ pattern: 'dense', budgets: {} });
    expect(
      parseCandidateSpec(
        'q_boundary:text_rows.vertical=30,text_rows.slash=100,video_rows.vertical=45,video_rows.slash=0.5',
      ),
    ).toEqual({
      pattern: 'q_boundary',
      budgets: {
        text_rows: { vertical: { count: 30 }, slash: { count: 100 } },
        video_rows: { vertical: { count: 45 }, slash: { fraction: 0.5 } },
      },
    });
  });

  it('writes every candidate back to a form that reads the same', () => {
    const all = [...(presetCandidates('short') ?? []), ...everyPattern.map((c) => CandidateSchema.parse(c))];
    for (const c of all) expect(parseCandidateSpec(formatCandidate(c))).toEqual(c);
  });

  it.each([
    ['block_sparse:top_k_blocks=-3', /budgets cannot be negative/],
    ['diagonal:width=3', /pattern: Invalid discriminator/],
    ['a_shape:sink_tokens=64,top_k_blocks=0.5', /not a budget of a_shape \(top_k_blocks\)/],
    ['a_shape:sink_tokens=64', /local_tokens/],
    ['a_shape:sink_tokens=64,sink_tokens=3,local_tokens=1', /sink_tokens is given twice/],
    ['block_sparse:top_k_blocks=1.5', /top_k_blocks/],
    ['block_sparse:top_k_blocks', /is not FIELD=VALUE/],
  ])('refuses %s', (spec, message) => {
    expect(() => parseCandidateSpec(spec)).toThrow(CandidateSpecError);
    expect(() => parseCandidateSpec(spec)).toThrow(message);
  });
});

describe('summaries and CSV', () => {
  it('counts each layer’s patterns and averages the calibration as the file holds them', () => {
    const s = summarizePatternFile(tinyA);
    const heads = tinyA.layers.flatMap((l) => l.heads);
    expect(s.counts.block_sparse).toBe(heads.filter((h) => h.pattern === 'block_sparse').length);
    expect(Object.values(s.counts).reduce((a, b) => a + b, 0)).toBe(heads.length);
    const recalls = heads.map((h) => h.calibration?.recall ?? Number.NaN);
    expect(s.meanRecall).toBeCloseTo(recalls.reduce((a, b) => a + b, 0) / recalls.length, 12);
    expect(s.perLayer.map((l) => Object.values(l.counts).reduce((a, b) => a + b, 0))).toEqual(
      tinyA.layers.map((l) => l.heads.length),
    );
    expect(s.inputs.map((i) => i.tokens)).toEqual([97, 397]);
    // A hand-written file has no calibration: nothing to average.
    expect(summarizePatternFile(mixed).meanRecall).toBeNull();
  });

  it('quotes fields with commas, quotes and line breaks', () => {
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x,y', 'say "hi"'],
          [null, 'line\nbreak'],
        ],
      ),
    ).toBe('a,b\r\n"x,y","say ""hi"""\r\n,"line\nbreak"\r\n');
    const lines = patternCsv(mixed).trimEnd().split('\r\n');
    expect(lines[0]).toBe('layer,head,pattern,budgets,recall,density,cost');
    expect(lines).toHaveLength(1 + mixed.model.layers * mixed.model.heads);
    expect(lines[2]).toBe('0,1,a_shape,"sink_tokens=64,local_tokens=0.0625",,,');
  });
});

describe('comparison arithmetic', () => {
  it('answer agreement: shared prefix, matching positions, the longer length', () => {
    expect(answerAgreement([1, 2, 3, 4], [1, 2, 9, 4, 5])).toEqual({ prefix: 2, matching: 3, total: 5 });
    expect(answerAgreement([], [])).toEqual({ prefix: 0, matching: 0, total: 0 });
  });

  it('predicted pre-fill time scales the dense attention’s wall-time share by each head’s cost', () => {
    // 1000 ms pre-fill, 4 heads of 300 ms on 2 threads: 600 ms of attention wall time.
    const attention = [300, 300, 300, 300];
    expect(predictedPrefillMs(1000, attention, [1, 1, 1, 1], 2)).toBeCloseTo(1000);
    expect(predictedPrefillMs(1000, attention, [0, 0, 0, 0], 2)).toBeCloseTo(400);
    expect(predictedPrefillMs(1000, attention, [0.5, 0.5, 0, 1], 2)).toBeCloseTo(400 + 600 * 0.5);
    // Attention summed over threads cannot exceed the pre-fill itself.
    expect(predictedPrefillMs(100, attention, [0, 0, 0, 0], 1)).toBeCloseTo(0);
    expect(() => predictedPrefillMs(1000, attention, [1], 2)).toThrow(RangeError);
  });
});

/** A PNG's size and RGBA rows, read back with zlib (filter type 0 rows only, as the encoder writes). */
function readPng(bytes: Buffer): { width: number; height: number; data: Uint8Array } {
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (at < bytes.length) {
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('ascii', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + length);
    expect(bytes.readUInt32BE(at + 8 + length)).toBe(crc32(bytes.subarray(at + 4, at + 8 + length)));
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect([...data.subarray(8)]).toEqual([8, 6, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const out = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 4 + 1)]).toBe(0);
    out.set(raw.subarray(y * (width * 4 + 1) + 1, (y + 1) * (width * 4 + 1)), y * width * 4);
  }
  return { width, height, data: out };
}

describe('figures', () => {
  const hex = (data: Uint8ClampedArray | Uint8Array, width: number, x: number, y: number): string =>
    '#' + [0, 1, 2].map((c) => (data[(y * width + x) * 4 + c] ?? 0).toString(16).padStart(2, '0')).join('');

  it('the grid image holds each head’s pattern colour in its cell, and survives PNG encoding', () => {
    const file: PatternFile = mixed;
    const image = gridImage(file, 10, 2);
    expect([image.width, image.height]).toEqual([file.model.heads * 12 + 2, file.model.layers * 12 + 2]);
    for (const layer of file.layers) {
      for (const head of layer.heads) {
        const x = 2 + head.head * 12 + 5;
        const y = 2 + layer.layer * 12 + 5;
        expect(hex(image.data, image.width, x, y)).toBe(patternColours[head.pattern]);
      }
    }
    expect(hex(image.data, image.width, 0, 0)).toBe('#ffffff');
    const png = readPng(encodePng(image));
    expect([png.width, png.height]).toEqual([image.width, image.height]);
    expect(png.data).toEqual(new Uint8Array(image.data));
  });

  it('the grid SVG has one cell per head with its numbers, and a legend of the patterns present', () => {
    const svg = gridSvg(tinyA, 'tiny-a <searched> & checked');
    expect(svg.match(/<rect x=/g)).toHaveLength(tinyA.model.layers * tinyA.model.heads + 1);
    expect(svg).toContain('tiny-a &#60;searched&#62; &#38; checked');
    const first = tinyA.layers[0]!.heads[0]!;
    expect(svg).toContain(`<title>layer 0, head 0: `);
    expect(svg).toContain(`recall ${first.calibration!.recall.toFixed(3)}`);
    expect(svg).toMatch(/<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*>[\s\S]*<\/svg>\n$/);
  });

  it('a heatmap image repeats each painted cell over k×k pixels, white where there is no mass', () => {
    const grid = 4;
    const mass = new Float32Array(grid * grid);
    const mask = new Float32Array(grid * grid).fill(1);
    for (let r = 0; r < grid; r++) for (let c = 0; c <= r; c++) mass[r * grid + c] = (r + 1) * (c + 1);
    const grids = {
      grid,
      mass,
      massPermuted: mass,
      mask,
      maskPermuted: mask,
      rowSamples: [1, 1, 1, 1],
      rowSamplesPermuted: [1, 1, 1, 1],
    };
    const image = heatmapImage(grids, { permuted: false, overlay: false, scale: 'linear', cell: 3 });
    const cells = paintHeatmap({
      grid,
      mass,
      mask: null,
      rowSamples: [1, 1, 1, 1],
      domain: domainFor('linear', 16),
    });
    expect([image.width, image.height]).toEqual([12, 12]);
    for (let y = 0; y < 12; y++) {
      for (let x = 0; x < 12; x++) {
        const cell = (Math.floor(y / 3) * grid + Math.floor(x / 3)) * 4;
        const expected = cells[cell + 3] === 0 ? [255, 255, 255, 255] : [...cells.subarray(cell, cell + 4)];
        expect([...image.data.subarray((y * 12 + x) * 4, (y * 12 + x) * 4 + 4)]).toEqual(expected);
      }
    }
  });
});
