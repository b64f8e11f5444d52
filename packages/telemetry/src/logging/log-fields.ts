import { isSpanContextValid, trace } from '@opentelemetry/api';
import { getCorrelationId } from '../propagation/correlation.js';

/** The fields Keel adds to every log record so logs join traces and requests. */
export interface LogFields {
  service: string;
  trace_id?: string;
  span_id?: string;
  /** The W3C trace flags as two lowercase hex digits, e.g. `01` when sampled. */
  trace_flags?: string;
  correlation_id?: string;
}

// Precomputed so formatting the flags allocates nothing per record.
const FLAGS_HEX = Array.from({ length: 256 }, (_, flags) => flags.toString(16).padStart(2, '0'));

/**
 * Builds the function that returns `service`, the active span's ids and flags (when the span context is valid)
 * and the active correlation ID, as a fresh object per call (pino merges into it).
 */
export function logFields(service: string): () => LogFields {
  return function keelLogFields() {
    const fields: LogFields = { service };
    const spanContext = trace.getActiveSpan()?.spanContext();
    if (spanContext !== undefined && isSpanContextValid(spanContext)) {
      fields.trace_id = spanContext.traceId;
      fields.span_id = spanContext.spanId;
      fields.trace_flags = FLAGS_HEX[spanContext.traceFlags & 0xff] ?? '00';
    }
    const correlationId = getCorrelationId();
    if (correlationId !== undefined) fields.correlation_id = correlationId;
    return fields;
  };
}
