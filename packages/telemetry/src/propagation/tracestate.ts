import type { TraceState } from '@opentelemetry/api';

/** Header name of the W3C `tracestate` field. */
export const TRACESTATE_HEADER = 'tracestate';
/** Most list members a `tracestate` may carry (W3C; DESIGN §6). */
export const TRACESTATE_MAX_MEMBERS = 32;
/** Most characters of a `tracestate` we accept or send, commas and whitespace included (DESIGN §6). */
export const TRACESTATE_MAX_LENGTH = 512;

// Trace Context Level 2 key grammar: `( lcalpha / DIGIT ) 0*255 keychar` with `@` a plain keychar. It is a
// superset of Level 1's simple and `tenant@system` keys, so a Level 1 sender is always understood and a
// Level 2 sender's keys do not get the whole header dropped.
const KEY = /^[a-z0-9][a-z0-9_\-*/@]{0,255}$/;
// `0*255(chr) nblk-chr`: printable ASCII except `,` and `=`, 1–256 characters, not ending in a space.
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
const OWS = /^[ \t]+|[ \t]+$/g;
// Members longer than this are the first to go when a state must shrink (W3C "tracestate Limits").
const LARGE_MEMBER = 128;
// A foreign TraceState (OpenTelemetry's own, say) is re-read before it leaves the process; past this
// size it cannot be a sane state and is not worth reading.
const FOREIGN_MAX_LENGTH = 64 * 1024;

function isValidKey(key: unknown): key is string {
  return typeof key === 'string' && key.length <= 256 && KEY.test(key);
}

function isValidValue(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 256 && VALUE.test(value);
}

function parseMembers(value: string, maxMembers: number): Map<string, string> | undefined {
  const members = new Map<string, string>();
  for (const raw of value.split(',')) {
    // Empty and whitespace-only members are allowed: joining several header fields produces them.
    const member = raw.replace(OWS, '');
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq < 1) return undefined;
    const key = member.slice(0, eq);
    const val = member.slice(eq + 1);
    if (!isValidKey(key) || !isValidValue(val)) return undefined;
    // The spec lets a vendor discard duplicate keys: the first (left-most, most recent) of a key is kept.
    if (members.has(key)) continue;
    members.set(key, val);
    if (members.size > maxMembers) return undefined;
  }
  return members;
}

function memberLength(key: string, value: string): number {
  return key.length + 1 + value.length;
}

// Truncates whole members the way the spec asks: large ones first, then from the right-hand end.
function fit(members: Map<string, string>): Map<string, string> {
  let count = members.size;
  let total = count - 1;
  for (const [key, value] of members) total += memberLength(key, value);
  const over = () => count > TRACESTATE_MAX_MEMBERS || total > TRACESTATE_MAX_LENGTH;
  if (!over()) return members;
  const entries = [...members];
  const keep = entries.map(() => true);
  const drop = (i: number, length: number) => {
    keep[i] = false;
    count -= 1;
    total -= length + 1;
  };
  for (let i = entries.length - 1; i >= 0 && over(); i--) {
    const [key, value] = entries[i] as [string, string];
    if (memberLength(key, value) > LARGE_MEMBER) drop(i, memberLength(key, value));
  }
  for (let i = entries.length - 1; i >= 0 && over(); i--) {
    const [key, value] = entries[i] as [string, string];
    if (keep[i]) drop(i, memberLength(key, value));
  }
  return new Map(entries.filter((_, i) => keep[i]));
}

/** An immutable W3C `tracestate` that never holds more than the limits allow. */
class KeelTraceState implements TraceState {
  readonly #members: ReadonlyMap<string, string>;

  constructor(members: Map<string, string>) {
    this.#members = fit(members);
  }

  /** A state with `key` set to `value` and moved to the front; unchanged when either is invalid. */
  set(key: string, value: string): TraceState {
    if (!isValidKey(key) || !isValidValue(value)) return this;
    const next = new Map([[key, value]]);
    for (const [k, v] of this.#members) if (k !== key) next.set(k, v);
    return new KeelTraceState(next);
  }

  /** A state without `key`. */
  unset(key: string): TraceState {
    if (!this.#members.has(key)) return this;
    const next = new Map(this.#members);
    next.delete(key);
    return new KeelTraceState(next);
  }

  /** The value of `key`, if present. */
  get(key: string): string | undefined {
    return this.#members.get(key);
  }

  /** The header value, members comma-separated without whitespace. */
  serialize(): string {
    return Array.from(this.#members, ([key, value]) => `${key}=${value}`).join(',');
  }
}

/**
 * The trace state of a `tracestate` value (several header fields joined by `,`), or `undefined` when it
 * is empty, breaks the grammar, or exceeds 32 distinct members or 512 characters — the whole header is
 * dropped then, never partly kept. A repeated key keeps its first value and loses the later ones. Never
 * throws.
 */
export function parseTracestate(value: unknown): TraceState | undefined {
  if (typeof value !== 'string' || value.length > TRACESTATE_MAX_LENGTH) return undefined;
  const members = parseMembers(value, TRACESTATE_MAX_MEMBERS);
  return members === undefined || members.size === 0 ? undefined : new KeelTraceState(members);
}

/**
 * The `tracestate` value to send for `traceState`, truncated to the limits; `''` when there is nothing
 * valid to send. Foreign implementations are re-read, as they may not enforce our limits.
 */
export function tracestateHeader(traceState: TraceState | undefined): string {
  if (traceState === undefined) return '';
  if (traceState instanceof KeelTraceState) return traceState.serialize();
  const serialized: unknown = traceState.serialize();
  if (typeof serialized !== 'string' || serialized.length > FOREIGN_MAX_LENGTH) return '';
  const members = parseMembers(serialized, Number.POSITIVE_INFINITY);
  return members === undefined ? '' : new KeelTraceState(members).serialize();
}
