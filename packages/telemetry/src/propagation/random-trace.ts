import { type Context, createContextKey, type SpanContext } from '@opentelemetry/api';
import { TRACE_FLAG_RANDOM } from './traceparent.js';

// OpenTelemetry's SDK gives a child span the flags of its sampling decision alone, so the Level 2 random
// flag of an extracted parent is lost one span later. What the caller said of its trace ID is kept in the
// context instead, and put back on every traceparent of that trace this process sends.
const extractedTraceKey = createContextKey('keel.extracted-trace');

interface ExtractedTrace {
  readonly traceId: string;
  readonly random: boolean;
}

/** `ctx` remembering `parent`'s trace ID and whether its traceparent marked it random. */
export function rememberExtractedTrace(ctx: Context, parent: SpanContext): Context {
  const extracted: ExtractedTrace = {
    traceId: parent.traceId,
    random: (parent.traceFlags & TRACE_FLAG_RANDOM) !== 0,
  };
  return ctx.setValue(extractedTraceKey, extracted);
}

/**
 * `spanContext` with the random flag set when its trace ID is random: the caller said so, or — when
 * `localIdsRandom` — the trace started in this process, whose SDK draws trace IDs at random. A trace
 * continued from a caller that did not set the flag never gains it: only the trace's origin knows.
 */
export function withRandomFlag(ctx: Context, spanContext: SpanContext, localIdsRandom: boolean): SpanContext {
  if ((spanContext.traceFlags & TRACE_FLAG_RANDOM) !== 0) return spanContext;
  const extracted = ctx.getValue(extractedTraceKey) as ExtractedTrace | undefined;
  const random =
    extracted?.traceId === spanContext.traceId
      ? extracted.random
      : localIdsRandom && spanContext.isRemote !== true;
  return random ? { ...spanContext, traceFlags: spanContext.traceFlags | TRACE_FLAG_RANDOM } : spanContext;
}
