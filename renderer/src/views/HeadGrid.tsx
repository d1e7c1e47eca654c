import { patternNames, type HeadReport, type PatternName } from '../../../app/contract/engine.js';
import { patternColours, patternLabels } from '../../../app/domain/pattern-colours.js';
import { headKey, type JobCapture } from '../state/captures.js';
import { formatDensity, formatRecall } from './head-figures.js';
import { LayerHeadGrid } from './LayerHeadGrid.js';

/** A colour and a label per pattern, the same everywhere (the exported figures too). */
export { patternColours, patternLabels };

function describe(layer: number, head: number, report: HeadReport | undefined, mapped: boolean): string {
  const what = report
    ? `${patternLabels[report.applied]}, density ${formatDensity(report.density)}${
        report.recall === null ? '' : `, recall on this prompt ${formatRecall(report.recall)}`
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
  const { capture, ...grid } = props;
  return (
    <LayerHeadGrid
      {...grid}
      label="Layers and heads"
      className="head-grid"
      cell={(l, h) => {
        const key = headKey(l, h);
        const report = capture?.heads.get(key);
        const mapped = capture?.heatmaps.has(key) ?? false;
        return {
          label: describe(l, h, report, mapped),
          className: `${report ? 'reported' : 'pending'}${mapped ? ' mapped' : ''}`,
          ...(report ? { style: { background: patternColours[report.applied] } } : {}),
        };
      }}
    />
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
