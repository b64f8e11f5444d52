/** Column widths of the waterfall, in characters. */
export interface Columns {
  readonly name: number;
  readonly service: number;
  readonly duration: number;
  /** Where the bar starts. */
  readonly barStart: number;
  /** Cells of the bar: the time axis. */
  readonly cells: number;
  /** Room left for the status after the bar. */
  readonly status: number;
}

/** The widest each column would like to be. */
export interface ColumnWants {
  readonly name: number;
  readonly service: number;
  readonly duration: number;
  readonly status: number;
}

const GAPS = 8; // two spaces after name, service, duration and bar
const MIN_CELLS = 10;

/**
 * Fits the columns into `width`: the bar takes what is left, and when too little is left the status, then the
 * name, then the service give way, so narrow terminals still get a readable axis.
 */
export function layoutColumns(width: number, wants: ColumnWants): Columns {
  let status = Math.min(30, Math.max(2, wants.status));
  let name = Math.min(Math.max(12, wants.name), Math.floor(width * 0.4));
  let service = Math.min(16, wants.service);
  const duration = wants.duration;
  const deficit = () => name + service + duration + GAPS + MIN_CELLS + status - width;
  status -= Math.max(0, Math.min(deficit(), status - 5));
  name -= Math.max(0, Math.min(deficit(), name - 12));
  service -= Math.max(0, Math.min(deficit(), service - 8));
  const barStart = name + service + duration + 6;
  const cells = Math.max(MIN_CELLS, width - barStart - 2 - status);
  return { name, service, duration, barStart, cells, status: Math.max(5, width - barStart - cells - 2) };
}

/** The cells `[from, to)` a span covers on an axis of `cells` cells spanning `total` milliseconds. */
export function barCells(from: number, to: number, total: number, cells: number): [number, number] {
  if (!(total > 0)) return [0, 1];
  const start = Math.min(cells - 1, Math.max(0, Math.floor((from / total) * cells)));
  return [start, Math.max(start + 1, Math.min(cells, Math.ceil((to / total) * cells)))];
}
