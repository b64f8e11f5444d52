import type { SpanContext } from '@opentelemetry/api';

/** Header name of the W3C `traceparent` field. */
export const TRACEPARENT_HEADER = 'traceparent';

/** The Trace Context Level 2 `random` trace flag: the trace ID's right-most 7 bytes are random. */
export const TRACE_FLAG_RANDOM = 0x02;

// sampled (0x01) and random (0x02) are the only flags defined; the spec says the rest MUST be zero
// when we propagate, so everything else is masked off on the way in and on the way out.
const KNOWN_FLAGS = 0x03;
const FLAGS_HEX = ['00', '01', '02', '03'] as const;

// Version 00 is exactly these 55 characters; higher versions share this prefix and may append `-…`.
const V00_LENGTH = 55;
const PREFIX = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE_ID = '00000000000000000000000000000000';
const ZERO_SPAN_ID = '0000000000000000';
const DASH = 0x2d;

/**
 * The remote span context of a W3C `traceparent` value, or `undefined` for anything outside the strict
 * grammar (a caller should then start a new trace); never throws.
 *
 * @example
 * parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03');
 * // → { traceId: '4bf9…', spanId: '00f0…', traceFlags: 3, isRemote: true }
 */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== 'string') return undefined;
  // Lengths first, so a megabyte of junk is rejected without the regex ever seeing it.
  const length = value.length;
  if (length < V00_LENGTH) return undefined;
  if (length > V00_LENGTH) {
    // Only a future version may be longer, and only by further `-`-separated fields (spec §versioning).
    if (value.startsWith('00') || value.charCodeAt(V00_LENGTH) !== DASH) return undefined;
  }
  const match = PREFIX.exec(length === V00_LENGTH ? value : value.slice(0, V00_LENGTH));
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  if (version === 'ff') return undefined;
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16) & KNOWN_FLAGS, isRemote: true };
}

/**
 * The version-00 `traceparent` value of a valid span context, keeping its sampled and random flags and
 * zeroing the rest.
 */
export function formatTraceparent(spanContext: SpanContext): string {
  // @opentelemetry/core 3.1's propagator writes undefined bits back and formats flags ≥ 0x10 as three
  // characters (`-0ff`), which strict receivers reject; hence our own format, masked to known bits.
  const flags = FLAGS_HEX[spanContext.traceFlags & KNOWN_FLAGS] ?? '00';
  return `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
}
