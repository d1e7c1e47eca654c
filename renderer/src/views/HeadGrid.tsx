import { useEffect, useRef, type KeyboardEvent } from 'react';
import { patternNames, type HeadReport, type PatternName } from '../../../app/api/engine.js';
import { patternColours, patternLabels } from '../../../app/domain/pattern-colours.js';
import { headKey, type JobCapture } from '../state/captures.js';

/** A colour and a label per pattern, the same everywhere (the exported figures too). */
export { patternColours, patternLabels };

function describe(layer: number, head: number, report: HeadReport | undefined, mapped: boolean): string {
  const what = report
    ? `${patternLabels[report.applied]}, density ${(report.density * 100).toFixed(1)}%${
        report.recall === null ? '' : `, recall ${report.recall.toFixed(3)}`
      }`
    : 'not reached yet';
  return `Layer ${layer}, head ${head}: ${what}${mapped ? ', heatmap' : ''}`;
}

/**
 * Every (layer, head) of the pre-fill at a glance, coloured by the pattern that ran; a dot marks a captured
 * heatmap. One cell is in the tab order; the arrow keys (and Home/End) move the selection, like a spreadsheet.
 */
export function HeadGrid(props: {
  layers: number;
  heads: number;
  capture: JobCapture | undefined;
  layer: number;
  head: number;
  onSelect: (layer: number, head: number) => void;
}) {
  const { layers, heads, capture, layer, head, onSelect } = props;
  const table = useRef<HTMLTableElement>(null);
  const keyboard = useRef(false);

  // Focus follows a selection made with the keyboard, so the arrows keep working from the new cell.
  useEffect(() => {
    if (!keyboard.current) return;
    keyboard.current = false;
    table.current?.querySelector<HTMLElement>(`[data-cell="${headKey(layer, head)}"]`)?.focus();
  }, [layer, head]);

  const onKeyDown = (event: KeyboardEvent) => {
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
    const move = moves[event.key];
    if (!move) return;
    event.preventDefault();
    const [l, h] = move;
    if (l < 0 || l >= layers || h < 0 || h >= heads) return;
    keyboard.current = true;
    onSelect(l, h);
  };

  return (
    <table className="head-grid" role="grid" aria-label="Layers and heads" ref={table} onKeyDown={onKeyDown}>
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
        {Array.from({ length: layers }, (_, l) => (
          <tr key={l}>
            <th scope="row" className="muted">
              {l}
            </th>
            {Array.from({ length: heads }, (_, h) => {
              const key = headKey(l, h);
              const report = capture?.heads.get(key);
              const mapped = capture?.heatmaps.has(key) ?? false;
              const selected = l === layer && h === head;
              return (
                <td
                  key={h}
                  role="gridcell"
                  data-cell={key}
                  tabIndex={selected ? 0 : -1}
                  aria-selected={selected}
                  aria-label={describe(l, h, report, mapped)}
                  title={describe(l, h, report, mapped)}
                  className={`${report ? 'reported' : 'pending'}${mapped ? ' mapped' : ''}`}
                  style={report ? { background: patternColours[report.applied] } : undefined}
                  onClick={() => onSelect(l, h)}
                />
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The patterns that appear in a capture, with their colours. */
export function PatternKey(props: { capture: JobCapture | undefined }) {
  const seen = new Set<PatternName>();
  for (const report of props.capture?.heads.values() ?? []) seen.add(report.applied);
  if (seen.size === 0) return null;
  return (
    <ul className="pattern-key" aria-label="Patterns">
      {patternNames
        .filter((name) => seen.has(name))
        .map((name) => (
          <li key={name}>
            <span className="swatch" style={{ background: patternColours[name] }} aria-hidden="true" />
            {patternLabels[name]}
          </li>
        ))}
    </ul>
  );
}
