import { context, type Tracer, trace } from '@opentelemetry/api';
import { AlwaysOffSampler, TracerProvider } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { type TraceStoreOptions, traceStore } from './trace-store.js';

function setup(options?: TraceStoreOptions) {
  const store = traceStore(options);
  const tracer = new TracerProvider({ spanProcessors: [store] }).getTracer('test');
  return { store, tracer };
}

/** Ends a root span with `children` child spans; returns the trace ID. */
function endTrace(tracer: Tracer, children = 0): string {
  const root = tracer.startSpan('root');
  for (let i = 0; i < children; i++)
    tracer.startSpan(`child ${i}`, {}, trace.setSpan(context.active(), root)).end();
  root.end();
  return root.spanContext().traceId;
}

describe('traceStore', () => {
  it('keeps only the 200 most recent traces by default', () => {
    const { store, tracer } = setup();
    const ids = Array.from({ length: 300 }, () => endTrace(tracer));
    expect(store.traceIds()).toEqual(ids.slice(100));
    expect(store.spans(ids[99]!)).toEqual([]);
    expect(store.spans(ids[100]!)).toHaveLength(1);
  });

  it('evicts whole oldest traces to stay within the span cap', () => {
    const { store, tracer } = setup({ maxSpans: 10 });
    const ids = [endTrace(tracer, 3), endTrace(tracer, 3), endTrace(tracer, 3)]; // 4 spans each
    expect(store.spanCount).toBeLessThanOrEqual(10);
    expect(store.traceIds()).toEqual(ids.slice(1));
    expect(store.spans(ids[2]!)).toHaveLength(4);
  });

  it('drops spans past the cap when a single trace fills the store, and says so when rendering', () => {
    const { store, tracer } = setup({ maxSpans: 5 });
    const id = endTrace(tracer, 7);
    expect(store.spans(id)).toHaveLength(5);
    expect(store.render(id, { color: false })).toContain(
      '(3 more spans dropped: the store keeps at most 5 spans)',
    );
  });

  it('keeps a trace that is still receiving spans over older finished ones', () => {
    const { store, tracer } = setup({ maxTraces: 2 });
    const long = tracer.startSpan('long-running');
    const longCtx = trace.setSpan(context.active(), long);
    tracer.startSpan('early step', {}, longCtx).end();
    const other = endTrace(tracer);
    tracer.startSpan('late step', {}, longCtx).end();
    const newest = endTrace(tracer);
    expect(store.traceIds()).toEqual([long.spanContext().traceId, newest]);
    expect(store.traceIds()).not.toContain(other);
  });

  it('names the trace that most recently received a span as the latest', () => {
    const { store, tracer } = setup();
    expect(store.latestTraceId()).toBeUndefined();
    endTrace(tracer);
    const second = endTrace(tracer);
    expect(store.latestTraceId()).toBe(second);
  });

  it('renders the latest trace when no ID is given', () => {
    const { store, tracer } = setup();
    endTrace(tracer);
    const latest = endTrace(tracer, 1);
    expect(store.render(undefined, { color: false }).split('\n')[0]).toContain(`Trace ${latest}`);
  });

  it('explains an unknown trace or an empty store instead of throwing', () => {
    const { store, tracer } = setup({ maxTraces: 3 });
    expect(store.render()).toBe('No traces recorded yet.');
    endTrace(tracer);
    expect(store.render('0af7651916cd43dd8448eb211c80319c')).toBe(
      'Trace 0af7651916cd43dd8448eb211c80319c is not in the trace store: it holds the 1 most recently updated traces (at most 3).',
    );
  });

  it('ignores spans that were not sampled, as exporters do', () => {
    const store = traceStore();
    const tracer = new TracerProvider({ sampler: new AlwaysOffSampler(), spanProcessors: [store] }).getTracer(
      'test',
    );
    endTrace(tracer);
    expect(store.traceIds()).toEqual([]);
  });

  it('keeps what it holds after shutdown but takes no new spans', async () => {
    const { store, tracer } = setup();
    const id = endTrace(tracer);
    await store.shutdown();
    endTrace(tracer);
    expect(store.traceIds()).toEqual([id]);
  });

  it.each([
    [
      { maxTraces: 0 },
      RangeError,
      'traceStore: option maxTraces must be an integer of at least 1, received 0',
    ],
    [
      { maxSpans: 1.5 },
      RangeError,
      'traceStore: option maxSpans must be an integer of at least 1, received 1.5',
    ],
    [
      { maxSpans: '10' },
      TypeError,
      'traceStore: option maxSpans must be an integer of at least 1, received "10"',
    ],
  ])('rejects invalid bounds %o at creation', (options, type, message) => {
    expect(() => traceStore(options as TraceStoreOptions)).toThrow(type);
    expect(() => traceStore(options as TraceStoreOptions)).toThrow(message);
  });
});
