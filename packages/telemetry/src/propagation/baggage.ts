import {
  type Baggage,
  type BaggageEntry,
  baggageEntryMetadataFromString,
  propagation,
} from '@opentelemetry/api';
import { decodeBaggageValue, encodeBaggageValue } from './percent-encoding.js';

/** Header name of the W3C `baggage` field. */
export const BAGGAGE_HEADER = 'baggage';
/** Most bytes of a `baggage` value we accept or send (DESIGN §6). */
export const BAGGAGE_MAX_BYTES = 8192;
/** Most list members of a `baggage` value we accept or send (DESIGN §6). */
export const BAGGAGE_MAX_MEMBERS = 180;

// RFC 7230 token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// baggage-octet: printable ASCII except space, DQUOTE, comma, semicolon and backslash.
const OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;
const OWS = /^[ \t]+|[ \t]+$/g;

function trim(value: string): string {
  return value.replace(OWS, '');
}

function isToken(value: unknown): value is string {
  return typeof value === 'string' && value.length <= BAGGAGE_MAX_BYTES && TOKEN.test(value);
}

// Properties are opaque to us: they are validated and kept, whitespace trimmed, as `k=v;k2` metadata.
function normalizeProperties(properties: readonly string[]): string | undefined {
  const out: string[] = [];
  for (const property of properties) {
    const eq = property.indexOf('=');
    const key = trim(eq < 0 ? property : property.slice(0, eq));
    if (!isToken(key)) return undefined;
    if (eq < 0) {
      out.push(key);
      continue;
    }
    const value = trim(property.slice(eq + 1));
    if (!OCTETS.test(value)) return undefined;
    out.push(`${key}=${value}`);
  }
  return out.join(';');
}

function parseMember(member: string): [string, BaggageEntry] | undefined {
  const [head = '', ...properties] = member.split(';');
  const eq = head.indexOf('=');
  if (eq < 0) return undefined;
  const key = trim(head.slice(0, eq));
  const raw = trim(head.slice(eq + 1));
  if (!isToken(key) || !OCTETS.test(raw)) return undefined;
  const value = decodeBaggageValue(raw);
  if (value === undefined) return undefined;
  if (properties.length === 0) return [key, { value }];
  const metadata = normalizeProperties(properties);
  if (metadata === undefined) return undefined;
  return [key, { value, metadata: baggageEntryMetadataFromString(metadata) }];
}

/**
 * The baggage of a `baggage` value (several header fields joined by `,`), or `undefined` when it is empty,
 * breaks the grammar, holds a malformed percent-escape, or exceeds 8192 bytes or 180 members — the whole
 * header is dropped then, never half-parsed. A repeated key keeps its last value. Never throws.
 */
export function parseBaggage(value: unknown): Baggage | undefined {
  // Valid baggage is ASCII, so the length in characters is its size in bytes.
  if (typeof value !== 'string' || value.length > BAGGAGE_MAX_BYTES) return undefined;
  let baggage = propagation.createBaggage();
  let members = 0;
  for (const raw of value.split(',')) {
    // Tolerated, like RFC 7230 lists: joining several header fields can leave empty members.
    if (trim(raw) === '') continue;
    members += 1;
    if (members > BAGGAGE_MAX_MEMBERS) return undefined;
    const entry = parseMember(raw);
    if (entry === undefined) return undefined;
    // setEntry, not createBaggage({...}): a plain object would reorder numeric keys and eat `__proto__`.
    baggage = baggage.setEntry(entry[0], entry[1]);
  }
  return members === 0 ? undefined : baggage;
}

function formatMember(key: string, entry: BaggageEntry): string | undefined {
  const value: unknown = entry.value;
  if (!isToken(key) || typeof value !== 'string') return undefined;
  // An encoded value is never shorter than the string, so an oversized one is skipped before encoding.
  if (key.length + value.length >= BAGGAGE_MAX_BYTES) return undefined;
  const member = `${key}=${encodeBaggageValue(value)}`;
  const metadata: unknown = entry.metadata?.toString();
  if (typeof metadata !== 'string' || metadata === '') return member;
  if (metadata.length > BAGGAGE_MAX_BYTES) return undefined;
  const properties = normalizeProperties(metadata.split(';'));
  return properties === undefined ? undefined : `${member};${properties}`;
}

/**
 * The `baggage` value for `baggage`: values percent-encoded, members that are invalid or would push the
 * header past 8192 bytes or 180 members left out; `''` when nothing can be sent.
 */
export function serializeBaggage(baggage: Baggage | undefined): string {
  if (baggage === undefined) return '';
  let out = '';
  let members = 0;
  for (const [key, entry] of baggage.getAllEntries()) {
    if (members === BAGGAGE_MAX_MEMBERS) break;
    const member = formatMember(key, entry);
    if (member === undefined) continue;
    const next = out === '' ? member : `${out},${member}`;
    // Skipped rather than stopping: a smaller member further on may still fit.
    if (next.length > BAGGAGE_MAX_BYTES) continue;
    out = next;
    members += 1;
  }
  return out;
}
