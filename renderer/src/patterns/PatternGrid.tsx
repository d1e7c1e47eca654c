import { useEffect, useRef, type KeyboardEvent } from 'react';
import type { PatternFile } from '../../../app/api/pattern-file.js';
import { rampIndex, ramp } from '../../../app/domain/heatmap-colour-scale.js';
import { patternColours, patternLabels } from '../../../app/domain/pattern-colours.js';
import { headRows, type HeadRow } from '../../../app/domain/pattern-summary.js';
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

/** The grid's arrow-key moves, like a spreadsheet: [layer, head] after `key`, or null. */
export function gridMove(
  key: string,
  layer: number,
  head: number,
  layers: number,
  heads: number,
): [number, number] | null {
  const moves: Record<string, [number, number]> = {
    ArrowUp: [layer - 1, head],
    ArrowDown: [layer + 1, head],
    ArrowLeft: [layer, head - 1],
    ArrowRight: [layer, head + 1],
    Home: [layer, 0],
    End: [layer, heads - 1],
    PageUp: [0, head],
    PageDown: [layers - 1, head],
  };
  const move = moves[key];
  if (!move) return null;
  const [l, h] = move;
  return l < 0 || l >= layers || h < 0 || h >= heads ? [layer, head] : move;
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
  const { file, colour, layer, head, onSelect } = props;
  const table = useRef<HTMLTableElement>(null);
  const keyboard = useRef(false);
  const rows = headRows(file);
  const heads = file.model.heads;

  useEffect(() => {
    if (!keyboard.current) return;
    keyboard.current = false;
    table.current?.querySelector<HTMLElement>(`[data-cell="${layer}:${head}"]`)?.focus();
  }, [layer, head]);

  const onKeyDown = (event: KeyboardEvent) => {
    const move = gridMove(event.key, layer, head, file.layers.length, heads);
    if (!move) return;
    event.preventDefault();
    keyboard.current = true;
    onSelect(move[0], move[1]);
  };

  return (
    <table
      className="head-grid pattern-grid"
      role="grid"
      aria-label="Pattern file: layers and heads"
      ref={table}
      onKeyDown={onKeyDown}
    >
      <thead>
        <tr>
          <th scope="col" className="muted">
            layer
          </th>
          {Array.from({ length: heads }, (_, h) => (
            <th key={h} scope="col" className="muted">
              {h}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {file.layers.map((l) => (
          <tr key={l.layer}>
            <th scope="row" className="muted">
              {l.layer}
            </th>
            {rows
              .filter((r) => r.layer === l.layer)
              .map((r) => {
                const selected = r.layer === layer && r.head === head;
                return (
                  <td
                    key={r.head}
                    role="gridcell"
                    data-cell={`${r.layer}:${r.head}`}
                    data-pattern={r.pattern}
                    tabIndex={selected ? 0 : -1}
                    aria-selected={selected}
                    aria-label={describe(r)}
                    title={describe(r)}
                    style={{ background: background(r, colour) }}
                    onClick={() => onSelect(r.layer, r.head)}
                  />
                );
              })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
