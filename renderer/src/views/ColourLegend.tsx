import { useEffect, useRef } from 'react';
import { formatValue, lutSize, ramp, valueAt, type ScaleDomain } from '../heatmap/colour-scale.js';

const ticks = [0, 0.25, 0.5, 0.75, 1];

/** The colour ramp with the values at its ticks, and what the other cell colours mean. */
export function ColourLegend(props: { domain: ScaleDomain | null; overlay: boolean }) {
  const { domain } = props;
  const canvas = useRef<HTMLCanvasElement>(null);

  useEffect(() => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    const image = new ImageData(lutSize, 1);
    for (let i = 0; i < lutSize; i++) {
      image.data.set([ramp[i * 3] ?? 0, ramp[i * 3 + 1] ?? 0, ramp[i * 3 + 2] ?? 0, 255], i * 4);
    }
    ctx.putImageData(image, 0, 0);
  }, []);

  return (
    <div className="legend" aria-label="Colour scale" role="group">
      <span className="legend-title">
        Attention mass per cell{domain ? (domain.scale === 'log' ? ' (log scale)' : ' (linear scale)') : ''}
      </span>
      <canvas ref={canvas} width={lutSize} height={1} className="legend-ramp" aria-hidden="true" />
      <div className="legend-ticks" data-testid="legend-ticks">
        {domain
          ? ticks.map((t) => (
              <span key={t} style={{ left: `${t * 100}%` }}>
                {t === 0 && domain.scale === 'log' ? '≤' : ''}
                {formatValue(valueAt(t, domain))}
              </span>
            ))
          : null}
      </div>
      <div className="legend-keys">
        <span>
          <span className="swatch empty" aria-hidden="true" /> no mass (not causal, or no sampled query in the
          row)
        </span>
        {props.overlay ? (
          <span>
            <span className="swatch dropped" aria-hidden="true" /> grey: mass the sparse mask leaves out
          </span>
        ) : null}
      </div>
    </div>
  );
}
