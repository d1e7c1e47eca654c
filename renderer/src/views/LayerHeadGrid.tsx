import { useEffect, useRef, type CSSProperties, type KeyboardEvent } from 'react';

/** What one (layer, head) cell shows: its accessible label (also its tooltip), and how it looks. */
export interface LayerHeadCell {
  label: string;
  className?: string;
  style?: CSSProperties;
  /** The pattern named in data-pattern, where the cell stands for one. */
  pattern?: string;
}

/**
 * A layers × heads table, a row per layer: one cell is in the tab order; the arrow keys (Home/End, PageUp/PageDown)
 * move the selection, and the focus follows a selection made with the keyboard so the arrows keep working from
 * the new cell. Shared by the pre-fill's head grid and the pattern file's.
 */
export function LayerHeadGrid(props: {
  label: string;
  className: string;
  layers: number;
  heads: number;
  layer: number;
  head: number;
  onSelect: (layer: number, head: number) => void;
  cell: (layer: number, head: number) => LayerHeadCell;
}) {
  const { label, className, layers, heads, layer, head, onSelect, cell } = props;
  const table = useRef<HTMLTableElement>(null);
  const keyboard = useRef(false);

  useEffect(() => {
    if (!keyboard.current) return;
    keyboard.current = false;
    table.current?.querySelector<HTMLElement>(`[data-cell="${layer}:${head}"]`)?.focus();
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
    // At an edge the selection stays as it is.
    const [l, h] = move;
    if (l < 0 || l >= layers || h < 0 || h >= heads) return;
    keyboard.current = true;
    onSelect(l, h);
  };

  // Cells as large as a panel allows for the head count (a 7B model's 28 heads still fit a wide panel).
  const cellPx = heads <= 16 ? 26 : heads <= 32 ? 20 : 14;
  return (
    <table
      className={className}
      role="grid"
      aria-label={label}
      ref={table}
      onKeyDown={onKeyDown}
      style={{ '--cell': `${cellPx}px` } as CSSProperties}
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
        {Array.from({ length: layers }, (_, l) => (
          <tr key={l}>
            <th scope="row" className="muted">
              {l}
            </th>
            {Array.from({ length: heads }, (_, h) => {
              const c = cell(l, h);
              const selected = l === layer && h === head;
              return (
                <td
                  key={h}
                  role="gridcell"
                  data-cell={`${l}:${h}`}
                  data-pattern={c.pattern}
                  tabIndex={selected ? 0 : -1}
                  aria-selected={selected}
                  aria-label={c.label}
                  title={c.label}
                  className={c.className}
                  style={c.style}
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
