import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import { DEADLINE_HEADER, GRPC_TIMEOUT_HEADER } from '../propagation/deadline-header.js';

/** The longest header value read from a message; W3C baggage's limit, the largest any propagated field allows. */
export const MESSAGE_HEADER_MAX_LENGTH = 8192;

/** The header counting delivery attempts of a message that was sent back for a retry. */
export const ATTEMPT_HEADER = 'x-keel-attempt';

// A message outlives its sender's deadline: a relative deadline would restart its clock after the message
// sat in a queue, so neither side of a broker carries one. The handler's own timeout bounds the work.
const NOT_CARRIED = new Set([DEADLINE_HEADER, GRPC_TIMEOUT_HEADER]);

/** Whether a propagated field travels in message headers: everything but the deadline. */
export function carriedByMessages(key: string): boolean {
  return !NOT_CARRIED.has(key);
}

/** A table of message headers, as a broker client hands it over: anything at all. */
export type MessageHeaders = Record<string, unknown>;

/**
 * Reads a broker's header table, which came from whoever published the message: only the table's own
 * string values up to {@link MESSAGE_HEADER_MAX_LENGTH} characters count; numbers, buffers, arrays, nested
 * tables and inherited members (`__proto__`, `constructor`) read as absent. Deadlines are not read.
 */
export const messageHeaderGetter: TextMapGetter<MessageHeaders | null | undefined> = {
  get(carrier, key) {
    if (typeof carrier !== 'object' || carrier === null || NOT_CARRIED.has(key)) return undefined;
    if (!Object.hasOwn(carrier, key)) return undefined;
    const value = carrier[key];
    return typeof value === 'string' && value.length <= MESSAGE_HEADER_MAX_LENGTH ? value : undefined;
  },
  keys(carrier) {
    if (typeof carrier !== 'object' || carrier === null) return [];
    return Object.keys(carrier).filter((key) => typeof carrier[key] === 'string');
  },
};

/** Writes context into a message's header table; the deadline stays behind (see {@link messageHeaderGetter}). */
export const messageHeaderSetter: TextMapSetter<MessageHeaders> = {
  set(carrier, key, value) {
    if (!NOT_CARRIED.has(key)) carrier[key] = value;
  },
};

/**
 * The delivery attempt a message's headers claim, from 1: an integer from 1 to 1000 in
 * {@link ATTEMPT_HEADER} (as a number or a decimal string), else 1.
 */
export function messageAttempt(headers: MessageHeaders | null | undefined): number {
  if (typeof headers !== 'object' || headers === null || !Object.hasOwn(headers, ATTEMPT_HEADER)) return 1;
  const raw = headers[ATTEMPT_HEADER];
  const value =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^[0-9]{1,4}$/.test(raw) ? Number(raw) : NaN;
  return Number.isInteger(value) && value >= 1 && value <= 1000 ? value : 1;
}
