import { getDeadline, setDeadline } from '@keel/resilience';
import {
  defaultTextMapGetter,
  defaultTextMapSetter,
  propagation,
  ROOT_CONTEXT,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { getCorrelationId, setCorrelationId } from './correlation.js';
import { KeelPropagator, keelPropagator } from './propagator.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-03`;

const inbound = (): Record<string, string> => ({
  traceparent: TRACEPARENT,
  tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
  baggage: 'userId=alice,serverNode=DF%2028;p=1',
  'x-correlation-id': 'req-42',
  'x-keel-deadline-ms': '5000',
});

function roundTrip(carrier: Record<string, string>, propagator = keelPropagator()): Record<string, string> {
  const ctx = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  const out: Record<string, string> = {};
  propagator.inject(ctx, out, defaultTextMapSetter);
  return out;
}

describe('KeelPropagator round trip', () => {
  it('sends on the trace context, baggage and correlation ID it received', () => {
    const out = roundTrip(inbound());
    expect(out).toMatchObject({
      traceparent: TRACEPARENT,
      tracestate: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
      baggage: 'userId=alice,serverNode=DF%2028;p=1',
      'x-correlation-id': 'req-42',
    });
  });

  it('keeps the Level 2 random flag from extract to inject', () => {
    expect(roundTrip({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-02` }).traceparent).toBe(
      `00-${TRACE_ID}-${SPAN_ID}-02`,
    );
  });

  it('keeps the Level 2 random flag on the traceparent of a child span, whose own flags lost it', () => {
    const propagator = keelPropagator();
    const ctx = propagator.extract(
      ROOT_CONTEXT,
      { traceparent: `00-${TRACE_ID}-${SPAN_ID}-03` },
      defaultTextMapGetter,
    );
    // What OpenTelemetry's SDK makes of a child: same trace, new span ID, flags from the sampler only.
    const child = trace.setSpanContext(ctx, { traceId: TRACE_ID, spanId: 'b7ad6b7169203331', traceFlags: 1 });
    const out: Record<string, string> = {};
    propagator.inject(child, out, defaultTextMapSetter);
    expect(out.traceparent).toBe(`00-${TRACE_ID}-b7ad6b7169203331-03`);
  });

  it('does not set the random flag on another trace started under a random caller', () => {
    const propagator = keelPropagator();
    const ctx = propagator.extract(
      ROOT_CONTEXT,
      { traceparent: `00-${TRACE_ID}-${SPAN_ID}-02` },
      defaultTextMapGetter,
    );
    const other = trace.setSpanContext(ctx, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
    });
    const out: Record<string, string> = {};
    propagator.inject(other, out, defaultTextMapSetter);
    expect(out.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  });

  describe('with randomTraceIds (the SDK startTelemetry starts draws trace IDs at random)', () => {
    const propagator = keelPropagator({ randomTraceIds: true });
    const local = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1 };

    it('marks a trace started in this process random', () => {
      const out: Record<string, string> = {};
      propagator.inject(trace.setSpanContext(ROOT_CONTEXT, local), out, defaultTextMapSetter);
      expect(out.traceparent).toBe(`00-${local.traceId}-${local.spanId}-03`);
    });

    it('never marks a trace continued from a caller that did not, since only its origin knows', () => {
      const ctx = propagator.extract(
        ROOT_CONTEXT,
        { traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` },
        defaultTextMapGetter,
      );
      const child = trace.setSpanContext(ctx, { traceId: TRACE_ID, spanId: local.spanId, traceFlags: 1 });
      const out: Record<string, string> = {};
      propagator.inject(child, out, defaultTextMapSetter);
      expect(out.traceparent).toBe(`00-${TRACE_ID}-${local.spanId}-01`);
    });

    it('passes an extracted context through unchanged when no span was started', () => {
      expect(roundTrip({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` }, propagator).traceparent).toBe(
        `00-${TRACE_ID}-${SPAN_ID}-01`,
      );
    });

    it('rejects a randomTraceIds that is not a boolean, naming it', () => {
      expect(() => keelPropagator({ randomTraceIds: 'yes' as unknown as boolean })).toThrow(
        'keelPropagator: option randomTraceIds must be a boolean, received "yes"',
      );
    });
  });

  it('never forwards trace-flag bits the spec does not define', () => {
    expect(roundTrip({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-ff` }).traceparent).toBe(
      `00-${TRACE_ID}-${SPAN_ID}-03`,
    );
  });

  it('sends on what is left of the deadline, never more', () => {
    const remaining = Number(roundTrip(inbound())['x-keel-deadline-ms']);
    expect(remaining).toBeLessThanOrEqual(5000);
    expect(remaining).toBeGreaterThan(4000);
  });

  it('writes nothing for an empty context', () => {
    const out: Record<string, string> = {};
    keelPropagator().inject(ROOT_CONTEXT, out, defaultTextMapSetter);
    expect(out).toEqual({});
  });
});

describe('KeelPropagator.extract', () => {
  it('sets a remote span context carrying the trace state', () => {
    const span = trace.getSpanContext(
      keelPropagator().extract(ROOT_CONTEXT, inbound(), defaultTextMapGetter),
    );
    expect(span).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 3, isRemote: true });
    expect(span?.traceState?.get('congo')).toBe('t61rcWkgMzE');
  });

  it('starts no trace from an invalid traceparent, and ignores its tracestate', () => {
    const carrier = { ...inbound(), traceparent: `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01` };
    const ctx = keelPropagator().extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    expect(trace.getSpanContext(ctx)).toBeUndefined();
    expect(propagation.getBaggage(ctx)?.getEntry('userId')?.value).toBe('alice');
  });

  it('keeps the trace parent but drops an invalid tracestate whole', () => {
    const carrier = { ...inbound(), tracestate: 'rojo=1,BAD=2' };
    const span = trace.getSpanContext(keelPropagator().extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
    expect(span?.traceId).toBe(TRACE_ID);
    expect(span?.traceState).toBeUndefined();
  });

  it('propagates a tracestate with a repeated key, keeping the first value of the key', () => {
    const carrier = { ...inbound(), tracestate: 'rojo=1,congo=2,rojo=3' };
    const ctx = keelPropagator().extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    const out: Record<string, string> = {};
    keelPropagator().inject(ctx, out, defaultTextMapSetter);
    expect(out.tracestate).toBe('rojo=1,congo=2');
  });

  it('joins multi-valued tracestate and baggage fields and takes the first traceparent', () => {
    const carrier = {
      traceparent: [TRACEPARENT, `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`],
      tracestate: ['rojo=1', 'congo=2'],
      baggage: ['a=1', 'b=2'],
    };
    const ctx = keelPropagator().extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    const span = trace.getSpanContext(ctx);
    expect(span?.traceId).toBe(TRACE_ID);
    expect(span?.traceState?.serialize()).toBe('rojo=1,congo=2');
    expect(
      propagation
        .getBaggage(ctx)
        ?.getAllEntries()
        .map(([k]) => k),
    ).toEqual(['a', 'b']);
  });

  it('drops a tracestate split over so many fields that it passes 512 characters', () => {
    const carrier = {
      traceparent: TRACEPARENT,
      tracestate: Array.from({ length: 100_000 }, (_, i) => `k${i}=1`),
    };
    const span = trace.getSpanContext(keelPropagator().extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
    expect(span?.traceId).toBe(TRACE_ID);
    expect(span?.traceState).toBeUndefined();
  });

  it('drops baggage over 180 members whole', () => {
    const baggage = Array.from({ length: 181 }, (_, i) => `k${i}=v`).join(',');
    const ctx = keelPropagator().extract(ROOT_CONTEXT, { baggage }, defaultTextMapGetter);
    expect(propagation.getBaggage(ctx)).toBeUndefined();
  });

  it('falls back to x-request-id when the correlation header is missing or invalid', () => {
    const read = (carrier: Record<string, string>) =>
      getCorrelationId(keelPropagator().extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
    expect(read({ 'x-request-id': 'r-1' })).toBe('r-1');
    expect(read({ 'x-correlation-id': 'bad id', 'x-request-id': 'r-2' })).toBe('r-2');
  });

  it('sets no correlation ID when the carrier has no valid one', () => {
    const carrier = { 'x-correlation-id': 'x'.repeat(129), 'x-request-id': 'a\nb' };
    expect(
      getCorrelationId(keelPropagator().extract(ROOT_CONTEXT, carrier, defaultTextMapGetter)),
    ).toBeUndefined();
  });

  it('reads and writes the correlation ID under a configured header, in lowercase', () => {
    const propagator = keelPropagator({ correlationHeader: 'X-Trace-Id' });
    const out = roundTrip({ 'x-trace-id': 'abc' }, propagator);
    expect(out).toEqual({ 'x-trace-id': 'abc' });
  });

  it('turns x-keel-deadline-ms into an absolute deadline', () => {
    const before = performance.now();
    const deadline = getDeadline(
      keelPropagator().extract(ROOT_CONTEXT, { 'x-keel-deadline-ms': '250' }, defaultTextMapGetter),
    );
    expect(deadline).toBeGreaterThanOrEqual(before + 250);
    expect(deadline).toBeLessThanOrEqual(performance.now() + 250);
  });

  it('keeps the earliest of x-keel-deadline-ms, grpc-timeout and the deadline already in the context', () => {
    const propagator = keelPropagator();
    const now = performance.now();
    const carrier = { 'x-keel-deadline-ms': '5000', 'grpc-timeout': '2S' };
    const fromHeaders = getDeadline(propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter)) ?? 0;
    expect(fromHeaders - now).toBeLessThan(2100);
    const tight = setDeadline(ROOT_CONTEXT, now + 100);
    expect(getDeadline(propagator.extract(tight, carrier, defaultTextMapGetter))).toBe(now + 100);
  });

  it('ignores an invalid deadline header', () => {
    const ctx = keelPropagator().extract(ROOT_CONTEXT, { 'x-keel-deadline-ms': '-5' }, defaultTextMapGetter);
    expect(getDeadline(ctx)).toBeUndefined();
  });

  it('ignores values a getter returns that are not strings', () => {
    const getter: TextMapGetter<unknown> = {
      keys: () => [],
      get: () => ({ length: 55 }) as unknown as string,
    };
    expect(keelPropagator().extract(ROOT_CONTEXT, {}, getter)).toBe(ROOT_CONTEXT);
  });
});

describe('KeelPropagator.inject', () => {
  it('writes a deadline of 0 once it has passed', () => {
    const ctx = setDeadline(ROOT_CONTEXT, performance.now() - 1_000);
    const out: Record<string, string> = {};
    keelPropagator().inject(ctx, out, defaultTextMapSetter);
    expect(out).toEqual({ 'x-keel-deadline-ms': '0' });
  });

  it.each([
    ['the context', 1_000, 60_000, 1_000],
    ['the attempt', 60_000, 2_000, 2_000],
    ['the attempt, with none in the context', undefined, 3_000, 3_000],
  ])('injectWithin sends the nearer deadline, here %s’s', (_, inContextMs, attemptMs, sentMs) => {
    const now = performance.now();
    const ctx = inContextMs === undefined ? ROOT_CONTEXT : setDeadline(ROOT_CONTEXT, now + inContextMs);
    const out: Record<string, string> = {};
    keelPropagator().injectWithin(ctx, out, defaultTextMapSetter, now + attemptMs);
    const sent = Number(out['x-keel-deadline-ms']);
    expect(sent).toBeLessThanOrEqual(sentMs);
    expect(sent).toBeGreaterThan(sentMs - 100);
  });

  it('writes no traceparent for an invalid span context', () => {
    const ctx = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0'.repeat(32),
      spanId: SPAN_ID,
      traceFlags: 1,
    });
    const out: Record<string, string> = {};
    keelPropagator().inject(ctx, out, defaultTextMapSetter);
    expect(out).toEqual({});
  });

  it('injectMinimal writes only traceparent', () => {
    const propagator = keelPropagator();
    const ctx = setCorrelationId(propagator.extract(ROOT_CONTEXT, inbound(), defaultTextMapGetter), 'req-42');
    const out: Record<string, string> = {};
    propagator.injectMinimal(ctx, out, defaultTextMapSetter);
    expect(out).toEqual({ traceparent: TRACEPARENT });
  });
});

describe('KeelPropagator.extractEdge', () => {
  it('keeps correlation ID and deadline but drops trace parent and baggage', () => {
    const { context: ctx } = keelPropagator().extractEdge(ROOT_CONTEXT, inbound(), defaultTextMapGetter);
    expect(trace.getSpanContext(ctx)).toBeUndefined();
    expect(propagation.getBaggage(ctx)).toBeUndefined();
    expect(getCorrelationId(ctx)).toBe('req-42');
    expect(getDeadline(ctx)).toBeDefined();
  });

  it('returns the caller span context apart, to link', () => {
    const { remote } = keelPropagator().extractEdge(ROOT_CONTEXT, inbound(), defaultTextMapGetter);
    expect(remote).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, isRemote: true });
    expect(remote?.traceState?.get('rojo')).toBe('00f067aa0ba902b7');
  });

  it('also strips a span and baggage already in the context it is given', () => {
    const propagator = keelPropagator();
    const busy = propagator.extract(ROOT_CONTEXT, inbound(), defaultTextMapGetter);
    const { context: ctx } = propagator.extractEdge(busy, {}, defaultTextMapGetter);
    expect(trace.getSpanContext(ctx)).toBeUndefined();
    expect(propagation.getBaggage(ctx)).toBeUndefined();
  });
});

describe('carriers and options', () => {
  it('survives carriers with __proto__ and constructor keys without polluting Object.prototype', () => {
    const carrier = JSON.parse(
      `{"__proto__": {"traceparent": "${TRACEPARENT}"}, "constructor": "x", "prototype": "y", "baggage": "__proto__=1"}`,
    );
    const propagator = keelPropagator();
    const ctx = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
    propagator.inject(ctx, carrier, defaultTextMapSetter);
    expect(trace.getSpanContext(ctx)).toBeUndefined();
    expect(propagation.getBaggage(ctx)?.getEntry('__proto__')?.value).toBe('1');
    expect(({} as Record<string, unknown>).traceparent).toBeUndefined();
    expect(Object.getPrototypeOf(carrier)).toBe(Object.prototype);
  });

  it('reads null-prototype carriers', () => {
    const carrier = Object.assign(Object.create(null), inbound());
    const span = trace.getSpanContext(keelPropagator().extract(ROOT_CONTEXT, carrier, defaultTextMapGetter));
    expect(span?.traceId).toBe(TRACE_ID);
  });

  it.each([['__proto__'], ['constructor'], ['traceparent'], ['bad header'], [''], [42]])(
    'rejects correlationHeader %j with a TypeError naming the option',
    (name) => {
      expect(() => keelPropagator({ correlationHeader: name as string })).toThrow(
        /^keelPropagator: option correlationHeader must be an HTTP header name other than the trace, baggage and deadline headers, received /,
      );
    },
  );

  it('lists every header it reads or writes in fields()', () => {
    expect(new KeelPropagator({ correlationHeader: 'x-trace-id' }).fields().sort()).toEqual([
      'baggage',
      'grpc-timeout',
      'traceparent',
      'tracestate',
      'x-keel-deadline-ms',
      'x-request-id',
      'x-trace-id',
    ]);
  });
});
