import { isSpanContextValid, type SpanContext, trace } from '@opentelemetry/api';
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
 * A record that carries Keel's trace and correlation fields itself, for code that already holds them (the
 * access log line of an operation, written when the response ends): the logger then only sets `service`
 * on it ({@link mergeFields}) instead of looking the fields up in the active context and copying the
 * record, so the line needs no `context.with` around it. The fields come first, as they would from the
 * lookup, so the record's shape is the same.
 */
export class OwnFieldsRecord {
  /** Set by the logger that writes the record. */
  service?: string | undefined;
  trace_id?: string;
  span_id?: string;
  trace_flags?: string;
  correlation_id?: string;

  constructor(spanContext: SpanContext, correlationId: string | undefined) {
    if (isSpanContextValid(spanContext)) {
      this.trace_id = spanContext.traceId;
      this.span_id = spanContext.spanId;
      this.trace_flags = FLAGS_HEX[spanContext.traceFlags & 0xff] ?? '00';
    }
    if (correlationId !== undefined) this.correlation_id = correlationId;
  }
}

/**
 * Builds the function that returns `service`, the active span's ids and flags (when the span context is valid)
 * and the active correlation ID, as a fresh object per call (pino merges into it); for an
 * {@link OwnFieldsRecord}, `service` alone.
 */
export function logFields(service: string): (record?: object) => LogFields {
  return function keelLogFields(record) {
    const fields: LogFields = { service };
    if (record instanceof OwnFieldsRecord) return fields;
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

/**
 * Puts Keel's fields (from {@link logFields}) and a record together, fields first: an {@link OwnFieldsRecord}
 * gets `service` set in place, any other record is copied onto the fields. pino's `mixinMergeStrategy`
 * shape; a `formatters.log` calls it with `fields(record)`.
 */
export function mergeFields(record: object, fields: object): object {
  if (record instanceof OwnFieldsRecord) {
    record.service = (fields as Partial<LogFields>).service;
    return record;
  }
  return Object.assign(fields, record);
}
