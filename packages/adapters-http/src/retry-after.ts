// Longer values are neither delta-seconds a server means nor an HTTP-date (29 chars; asctime 24).
const MAX_LENGTH = 40;
const DELTA_SECONDS = /^[0-9]{1,10}$/;
// IMF-fixdate, RFC 850 and asctime all name a weekday and a four- or two-digit year; anything else is noise.
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]{0,6},? [0-9A-Za-z :-]{15,30}$/;

/**
 * The wait a `Retry-After` value asks for, in ms: delta-seconds or an HTTP-date (one in the past is 0).
 * `undefined` for anything else, so a garbage header falls back to the backoff. Never throws.
 *
 * @example
 * parseRetryAfter('2'); // 2000
 */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string') return undefined;
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_LENGTH) return undefined;
  if (DELTA_SECONDS.test(trimmed)) return Number(trimmed) * 1000;
  if (!HTTP_DATE.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
