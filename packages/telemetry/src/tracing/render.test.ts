import { context, type Span, SpanStatusCode, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { renderTrace } from './render.js';
import { type TraceStore, traceStore } from './trace-store.js';

const T0 = Date.UTC(2026, 0, 1, 12); // ms since epoch; offsets below are in ms

/** Two services' providers feeding one store, so spans carry real SDK resources, contexts and events. */
function twoServices(store: TraceStore) {
  const tracerOf = (service: string) =>
    new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [store],
    }).getTracer('test');
  const checkout = tracerOf('checkout');
  const inventory = tracerOf('inventory');
  const child = (tracer: ReturnType<typeof tracerOf>, parent: Span, name: string, start: number) =>
    tracer.startSpan(name, { startTime: T0 + start }, trace.setSpan(context.active(), parent));
  return { checkout, inventory, child };
}

/** GET /orders (checkout, 0–200 ms) → GET inventory (checkout, 20–120 ms, one retry) → SELECT stock (inventory, failed). */
function sampleTrace(store: TraceStore): string {
  const { checkout, inventory, child } = twoServices(store);
  const root = checkout.startSpan('GET /orders', { startTime: T0 });
  const call = child(checkout, root, 'GET inventory', 20);
  call.addEvent('retry', { 'keel.attempt': 1, 'keel.delay_ms': 100 }, T0 + 32);
  const query = child(inventory, call, 'SELECT stock', 60);
  query.recordException(new Error('connection reset'), T0 + 99);
  query.setStatus({ code: SpanStatusCode.ERROR, message: 'connection reset' });
  query.end(T0 + 100);
  call.end(T0 + 120);
  root.end(T0 + 200);
  return root.spanContext().traceId;
}

function rowOf(lines: string[], name: string): string {
  // Lines 0 and 1 are the header and the time axis.
  const line = lines.slice(2).find((l) => l.includes(name) && !l.includes('•'));
  if (line === undefined) throw new Error(`no row for ${name} in\n${lines.join('\n')}`);
  return line;
}

describe('renderTrace', () => {
  it('prints spans parent before child, each level indented further', () => {
    const store = traceStore();
    const lines = renderTrace(store.spans(sampleTrace(store)), { color: false, width: 100 }).split('\n');
    const rows = ['GET /orders', 'GET inventory', 'SELECT stock'].map((name) =>
      lines.indexOf(rowOf(lines, name)),
    );
    expect(rows).toEqual([...rows].sort((a, b) => a - b));
    const indents = ['GET /orders', 'GET inventory', 'SELECT stock'].map((name) =>
      rowOf(lines, name).indexOf(name),
    );
    expect(indents[0]).toBe(0);
    expect(indents[1]).toBeGreaterThan(indents[0]!);
    expect(indents[2]).toBeGreaterThan(indents[1]!);
  });

  it('shows each span with its service, duration and status', () => {
    const store = traceStore();
    const lines = renderTrace(store.spans(sampleTrace(store)), { color: false, width: 100 }).split('\n');
    expect(rowOf(lines, 'GET /orders')).toMatch(/GET \/orders\s+checkout\s+200 ms\s+█+\s+ok$/);
    expect(rowOf(lines, 'GET inventory')).toMatch(/checkout\s+100 ms\s+·+█+·+\s+ok$/);
    expect(rowOf(lines, 'SELECT stock')).toMatch(/inventory\s+40\.0 ms\s+·+█+·+\s+error: connection reset$/);
  });

  it('places each bar on the trace time axis', () => {
    const store = traceStore();
    const lines = renderTrace(store.spans(sampleTrace(store)), { color: false, width: 100 }).split('\n');
    const span = (name: string) => {
      const row = rowOf(lines, name);
      return [row.indexOf('█'), row.lastIndexOf('█')] as const;
    };
    const [rootFrom, rootTo] = span('GET /orders');
    const [callFrom, callTo] = span('GET inventory');
    const [queryFrom, queryTo] = span('SELECT stock');
    // GET inventory runs from 10 % to 60 % of the trace, SELECT stock from 30 % to 50 %.
    const at = (fraction: number) => rootFrom + fraction * (rootTo - rootFrom + 1);
    expect(callFrom).toBeCloseTo(at(0.1), -0.5);
    expect(callTo + 1).toBeCloseTo(at(0.6), -0.5);
    expect(queryFrom).toBeGreaterThan(callFrom);
    expect(queryTo).toBeLessThan(callTo);
  });

  it('lists span events under their span with offset and short attribute names', () => {
    const store = traceStore();
    const lines = renderTrace(store.spans(sampleTrace(store)), { color: false, width: 100 }).split('\n');
    const call = lines.indexOf(rowOf(lines, 'GET inventory'));
    expect(lines[call + 1]).toMatch(/• retry \+12\.0 ms {2}attempt=1 delay_ms=100$/);
    const query = lines.indexOf(rowOf(lines, 'SELECT stock'));
    expect(lines[query + 1]).toMatch(/• exception \+39\.0 ms {2}Error: connection reset$/);
    expect(lines[call + 1]!.indexOf('•')).toBeGreaterThan(
      rowOf(lines, 'GET inventory').indexOf('GET inventory'),
    );
  });

  it('heads the waterfall with the trace id, root, span count, services and total duration', () => {
    const store = traceStore();
    const traceId = sampleTrace(store);
    const [header] = renderTrace(store.spans(traceId), { color: false }).split('\n');
    expect(header).toBe(`Trace ${traceId}  GET /orders · 3 spans · checkout, inventory · 200 ms`);
  });

  it('emits no ANSI escape codes when color is off, and some when it is on', () => {
    const store = traceStore();
    const spans = store.spans(sampleTrace(store));
    expect(renderTrace(spans, { color: false })).not.toContain('\u001b[');
    expect(renderTrace(spans, { color: true })).toContain('\u001b[31m');
  });

  it('keeps every line within the requested width', () => {
    const store = traceStore();
    const spans = store.spans(sampleTrace(store));
    for (const width of [60, 80, 140]) {
      const lines = renderTrace(spans, { color: false, width }).split('\n');
      expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(width);
    }
  });

  it('draws a child whose clock runs behind its parent at the axis start and says so', () => {
    const store = traceStore();
    const { checkout, inventory, child } = twoServices(store);
    const root = checkout.startSpan('POST /pay', { startTime: T0 });
    const skewed = child(inventory, root, 'charge card', -30); // inventory's clock is 30 ms behind
    skewed.end(T0 + 50);
    root.end(T0 + 100);
    const lines = renderTrace(store.spans(root.spanContext().traceId), { color: false }).split('\n');
    const row = rowOf(lines, 'charge card');
    expect(row).toMatch(/80\.0 ms\s+█/);
    expect(rowOf(lines, 'POST /pay')).toMatch(/·█+\s+ok$/);
    expect(lines[lines.indexOf(row) + 1]).toContain(
      'starts 30.0 ms before its parent (checkout → inventory): clock skew?',
    );
    expect(lines[0]).toContain('· 130 ms');
  });

  it('shows a span whose parent is missing as a root instead of dropping it', () => {
    const store = traceStore();
    const { checkout, child } = twoServices(store);
    const root = checkout.startSpan('never ended', { startTime: T0 });
    const orphan = child(checkout, root, 'orphan', 5);
    orphan.end(T0 + 10);
    const lines = renderTrace(store.spans(root.spanContext().traceId), { color: false }).split('\n');
    expect(rowOf(lines, 'orphan').indexOf('orphan')).toBe(0);
  });

  it('says there is nothing to draw for no spans', () => {
    expect(renderTrace([])).toBe('No spans to render.');
  });
});
