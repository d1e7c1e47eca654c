import { useEffect, useRef, useState, type MouseEvent } from 'react';

/**
 * One heatmap: the painted cells (one RGBA pixel each) drawn scaled up without smoothing, so every cell stays a
 * crisp square. Hovering reports the cell under the pointer.
 */
export function HeatmapCanvas(props: {
  grid: number;
  pixels: Uint8ClampedArray<ArrayBuffer>;
  /** CSS pixels per side. */
  size: number;
  label: string;
  testId: string;
  describeCell: (row: number, col: number) => string;
}) {
  const { grid, pixels, size } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<string | null>(null);

  useEffect(() => {
    const target = canvas.current;
    const ctx = target?.getContext('2d');
    if (!target || !ctx) return;
    const scale = window.devicePixelRatio || 1;
    target.width = Math.round(size * scale);
    target.height = Math.round(size * scale);
    const cells = document.createElement('canvas');
    cells.width = grid;
    cells.height = grid;
    cells.getContext('2d')?.putImageData(new ImageData(pixels, grid, grid), 0, 0);
    ctx.clearRect(0, 0, target.width, target.height);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(cells, 0, 0, target.width, target.height);
  }, [grid, pixels, size]);

  const onMove = (event: MouseEvent<HTMLCanvasElement>) => {
    const box = event.currentTarget.getBoundingClientRect();
    const col = Math.floor(((event.clientX - box.left) / box.width) * grid);
    const row = Math.floor(((event.clientY - box.top) / box.height) * grid);
    setHover(row >= 0 && row < grid && col >= 0 && col < grid ? props.describeCell(row, col) : null);
  };

  return (
    <figure className="heatmap">
      <figcaption>{props.label}</figcaption>
      <canvas
        ref={canvas}
        className="heatmap-canvas"
        style={{ width: size, height: size }}
        role="img"
        aria-label={props.label}
        data-testid={props.testId}
        onMouseMove={onMove}
        onMouseLeave={() => setHover(null)}
      />
      <p className="cell-readout muted" aria-live="off">
        {hover ?? 'Rows: query positions; columns: keys. Hover a cell for its values.'}
      </p>
    </figure>
  );
}
