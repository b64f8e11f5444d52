/** Header carrying the caller's remaining deadline in whole milliseconds on HTTP and AMQP. */
export const DEADLINE_HEADER = 'x-keel-deadline-ms';
/** gRPC's native deadline header (`TimeoutValue TimeoutUnit`). */
export const GRPC_TIMEOUT_HEADER = 'grpc-timeout';

// Ten digits is 115 days: any deadline beyond that is a bug or an attack, not a budget.
const MAX_DEADLINE_DIGITS = 10;
const MAX_DEADLINE_MS = 9_999_999_999;
const DEADLINE = /^[0-9]{1,10}$/;

// gRPC over HTTP/2: TimeoutValue is at most 8 ASCII digits, followed by one unit letter.
const MAX_GRPC_DIGITS = 8;
const GRPC_LIMIT = 100_000_000;
const GRPC_TIMEOUT = /^([0-9]{1,8})([HMSmun])$/;
// [multiplier, divisor] from the unit to milliseconds; dividing keeps sub-millisecond units exact.
const GRPC_UNITS: Readonly<Record<string, readonly [number, number]>> = {
  H: [3_600_000, 1],
  M: [60_000, 1],
  S: [1_000, 1],
  m: [1, 1],
  u: [1, 1_000],
  n: [1, 1_000_000],
};
// Finest unit first, so the value sent is as precise as 8 digits allow.
const GRPC_FORMAT_ORDER = ['u', 'm', 'S', 'M', 'H'] as const;

/**
 * The remaining milliseconds of an `x-keel-deadline-ms` value: a non-negative integer of at most 10 digits,
 * else `undefined`. Never throws.
 */
export function parseDeadlineHeader(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length > MAX_DEADLINE_DIGITS || !DEADLINE.test(value)) {
    return undefined;
  }
  return Number(value);
}

/**
 * The `x-keel-deadline-ms` value for `remainingMs`: floored, so the callee never gets more time than the
 * caller has, and `0` once the deadline has passed (or for `NaN`).
 */
export function formatDeadlineHeader(remainingMs: number): string {
  if (!(remainingMs > 0)) return '0';
  return String(Math.min(Math.floor(remainingMs), MAX_DEADLINE_MS));
}

/**
 * The milliseconds of a `grpc-timeout` value such as `250m` or `1500u` (units H M S m u n, at most 8 digits),
 * else `undefined`. Never throws.
 */
export function parseGrpcTimeout(value: unknown): number | undefined {
  if (typeof value !== 'string' || value.length < 2 || value.length > MAX_GRPC_DIGITS + 1) return undefined;
  const match = GRPC_TIMEOUT.exec(value);
  const scale = match === null ? undefined : GRPC_UNITS[match[2] ?? ''];
  if (match === null || scale === undefined) return undefined;
  return (Number(match[1]) * scale[0]) / scale[1];
}

/**
 * The `grpc-timeout` value for `ms`, in the finest unit that fits 8 digits and floored like
 * {@link formatDeadlineHeader}; `0m` once the deadline has passed.
 */
export function formatGrpcTimeout(ms: number): string {
  if (!(ms > 0)) return '0m';
  if (Number.isInteger(ms) && ms < GRPC_LIMIT) return `${ms}m`;
  for (const unit of GRPC_FORMAT_ORDER) {
    const [multiplier, divisor] = GRPC_UNITS[unit] ?? [1, 1];
    // Inverse of parsing: milliseconds → unit.
    const amount = Math.floor((ms * divisor) / multiplier);
    if (amount < GRPC_LIMIT) return `${amount}${unit}`;
  }
  return `${GRPC_LIMIT - 1}H`;
}
