// A type alias, not an interface, so it is assignable to prom-client's index-signature label types.
/** The label set of an exemplar: the trace that produced the observation. */
export type ExemplarLabels = {
  readonly trace_id: string;
};

const TRACE_ID = /^[0-9a-f]{32}$/;
const INVALID_TRACE_ID = '00000000000000000000000000000000';

/**
 * The exemplar labels for `traceId`, or undefined when it is absent or not a valid W3C trace id; prom-client
 * throws on oversized exemplar label sets, and a recording must never throw.
 */
export function exemplarFor(traceId: string | undefined): ExemplarLabels | undefined {
  if (traceId === undefined || traceId.length !== 32 || traceId === INVALID_TRACE_ID) return undefined;
  return TRACE_ID.test(traceId) ? { trace_id: traceId } : undefined;
}
