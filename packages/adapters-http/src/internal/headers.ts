import { invalidOption } from '@keel/resilience/adapter';

/** Outgoing headers: lower-case names, so the ones Keel writes replace rather than duplicate the user's. */
export type HeaderRecord = Record<string, string | string[]>;

/** What callers may pass as headers. */
export type HeadersInit = Headers | Readonly<Record<string, string | number | readonly string[] | undefined>>;

// A header name per RFC 9110 `token`; the value is left to undici, which rejects CR, LF and NUL.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Copies `init` into `into` with lower-case names; throws a TypeError naming `option` on a bad name or value. */
export function mergeHeaders(owner: string, option: string, into: HeaderRecord, init: unknown): HeaderRecord {
  if (init === undefined) return into;
  if (init instanceof Headers) {
    for (const [name, value] of init) into[name] = value;
    return into;
  }
  if (typeof init !== 'object' || init === null || Array.isArray(init)) {
    invalidOption(owner, option, 'a Headers or an object of header values', init);
  }
  for (const [name, value] of Object.entries(init)) {
    if (value === undefined) continue;
    if (!TOKEN.test(name)) {
      invalidOption(owner, option, 'an object whose keys are HTTP header names', name);
    }
    if (typeof value === 'string') into[name.toLowerCase()] = value;
    else if (typeof value === 'number' && Number.isFinite(value)) into[name.toLowerCase()] = String(value);
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
      into[name.toLowerCase()] = [...(value as string[])];
    } else {
      invalidOption(owner, `${option}.${name}`, 'a string, a number or an array of strings', value);
    }
  }
  return into;
}
