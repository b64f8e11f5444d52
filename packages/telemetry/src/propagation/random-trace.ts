import { type Context, createContextKey, type SpanContext } from '@opentelemetry/api';
import { TRACE_FLAG_RANDOM } from './traceparent.js';

// OpenTelemetry's SDK gives a child span the flags of its sampling decision alone, so the Level 2 random
// flag of an extracted parent is lost one span later. The trace ID the caller vouched for is kept in the
// context instead, and the flag is put back on every traceparent of that trace this process sends.
const randomTraceKey = createContextKey('keel.random-trace-id');

/** `ctx` remembering that `parent`'s trace ID is random, when its traceparent said so. */
export function rememberRandomTrace(ctx: Context, parent: SpanContext): Context {
  return (parent.traceFlags & TRACE_FLAG_RANDOM) === 0 ? ctx : ctx.setValue(randomTraceKey, parent.traceId);
}

/** `spanContext` with the random flag set when its trace is one the caller marked random. */
export function withRandomFlag(ctx: Context, spanContext: SpanContext): SpanContext {
  if ((spanContext.traceFlags & TRACE_FLAG_RANDOM) !== 0) return spanContext;
  if (ctx.getValue(randomTraceKey) !== spanContext.traceId) return spanContext;
  return { ...spanContext, traceFlags: spanContext.traceFlags | TRACE_FLAG_RANDOM };
}
