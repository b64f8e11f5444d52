import { type HrTime, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import {
  defaultColor,
  defaultWidth,
  fit,
  formatDuration,
  msBetween,
  type Palette,
  palette,
  truncate,
} from './format.js';
import { errorText, eventText, serviceOf } from './span-text.js';
import { type SpanNode, spanTree } from './span-tree.js';
import { barCells, layoutColumns } from './waterfall-layout.js';

/** How a trace is drawn. */
export interface RenderOptions {
  /** Columns available. @default the terminal's width, or 100 when stdout is not a terminal */
  width?: number;
  /** ANSI colors. @default true only when stdout is a terminal and NO_COLOR is unset */
  color?: boolean;
}

interface Row {
  readonly span: ReadableSpan;
  readonly guide: string;
  /** The guide that continues under this row, for its events. */
  readonly under: string;
  readonly parent: ReadableSpan | undefined;
}

const MIN_WIDTH = 50;
const MAX_EVENTS_PER_SPAN = 8;

function flatten(
  nodes: readonly SpanNode[],
  prefix: string,
  parent: ReadableSpan | undefined,
  out: Row[],
): Row[] {
  nodes.forEach((node, i) => {
    const last = i === nodes.length - 1;
    const guide = parent === undefined ? '' : prefix + (last ? '└─ ' : '├─ ');
    const below = parent === undefined ? '' : prefix + (last ? '   ' : '│  ');
    const under = below + (node.children.length > 0 ? '│  ' : '   ');
    out.push({ span: node.span, guide, under, parent });
    flatten(node.children, below, node.span, out);
  });
  return out;
}

function timeAxis(spans: readonly ReadableSpan[]): { t0: HrTime; total: number } {
  // The axis covers every span, so a child whose clock runs behind its parent's still lands on the chart.
  let t0 = spans[0]!.startTime;
  let t1 = spans[0]!.endTime;
  for (const span of spans) {
    if (msBetween(t0, span.startTime) < 0) t0 = span.startTime;
    if (msBetween(t1, span.endTime) > 0) t1 = span.endTime;
  }
  return { t0, total: msBetween(t0, t1) };
}

/** Lines under a span's row: a clock-skew warning, then its events. */
function notes(row: Row, width: number, p: Palette): string[] {
  const room = width - row.under.length;
  const lines: string[] = [];
  const early = row.parent === undefined ? 0 : msBetween(row.span.startTime, row.parent.startTime);
  if (row.parent !== undefined && early > 0) {
    const hop = `${serviceOf(row.parent)} → ${serviceOf(row.span)}`;
    const note = `⚠ starts ${formatDuration(early)} before its parent (${hop}): clock skew?`;
    lines.push(p.dim(row.under) + p.yellow(truncate(note, room)));
  }
  for (const event of row.span.events.slice(0, MAX_EVENTS_PER_SPAN)) {
    const text = truncate(`• ${eventText(event, row.span)}`, room);
    lines.push(p.dim(row.under) + (event.name === 'exception' ? p.red(text) : p.yellow(text)));
  }
  const more = row.span.events.length - MAX_EVENTS_PER_SPAN;
  if (more > 0) lines.push(p.dim(truncate(`${row.under}… ${more} more events`, width)));
  return lines;
}

/**
 * Draws one finished trace as a terminal waterfall: the span tree with service, duration, a bar on the trace's
 * time axis and status, and each span's events (retries, timeouts, breaker decisions) beneath it.
 *
 * @example console.log(renderTrace(tracing.store.spans(traceId), { color: false }))
 */
export function renderTrace(spans: readonly ReadableSpan[], options: RenderOptions = {}): string {
  if (spans.length === 0) return 'No spans to render.';
  const width = Math.max(MIN_WIDTH, Math.floor(options.width ?? defaultWidth()));
  const p = palette(options.color ?? defaultColor());
  const roots = spanTree(spans);
  const rows = flatten(roots, '', undefined, []);
  const { t0, total } = timeAxis(spans);
  const services = [...new Set(rows.map((row) => serviceOf(row.span)))];
  const failed = rows.map((row) => row.span.status.code === SpanStatusCode.ERROR);
  const statuses = rows.map((row, i) => (failed[i] ? errorText(row.span) : 'ok'));
  const durations = rows.map((row) => formatDuration(msBetween(row.span.startTime, row.span.endTime)));
  const col = layoutColumns(width, {
    name: Math.max(...rows.map((row) => row.guide.length + row.span.name.length)),
    service: Math.max(...services.map((service) => service.length)),
    duration: Math.max(...durations.map((duration) => duration.length)),
    status: Math.max(...statuses.map((status) => status.length)),
  });

  const root = roots[0]!.span;
  const id = `Trace ${root.spanContext().traceId}`;
  const count = `${spans.length} span${spans.length === 1 ? '' : 's'}`;
  const who = services.length <= 3 ? services.join(', ') : `${services.length} services`;
  const summary = truncate(
    `${root.name} · ${count} · ${who} · ${formatDuration(total)}`,
    width - id.length - 2,
  );
  const lines = [
    `${p.bold(id)}  ${summary}`,
    p.dim(`${' '.repeat(col.barStart)}0${formatDuration(total).padStart(col.cells - 1)}`),
  ];
  rows.forEach((row, i) => {
    const service = serviceOf(row.span);
    const [from, to] = barCells(
      msBetween(t0, row.span.startTime),
      msBetween(t0, row.span.endTime),
      total,
      col.cells,
    );
    const fill = '█'.repeat(to - from);
    const bar =
      p.dim('·'.repeat(from)) +
      (failed[i] ? p.red(fill) : p.service(service, fill)) +
      p.dim('·'.repeat(col.cells - to));
    const label = fit(row.guide + row.span.name, col.name);
    const status = truncate(statuses[i]!, col.status);
    lines.push(
      `${p.dim(label.slice(0, row.guide.length))}${label.slice(row.guide.length)}  ${p.service(service, fit(service, col.service))}  ` +
        `${durations[i]!.padStart(col.duration)}  ${bar}  ${failed[i] ? p.red(status) : p.green(status)}`,
      ...notes(row, width, p),
    );
  });
  return lines.join('\n');
}
