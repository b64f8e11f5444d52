// Construction-time option checks. Messages name the owner, the option, the allowed range and the value.

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export function checkNumber(
  owner: string,
  option: string,
  value: unknown,
  min: number,
  max: number,
  integer = true,
): number {
  const kind = integer ? 'an integer' : 'a number';
  if (typeof value !== 'number') {
    throw new TypeError(
      `${owner}: option ${option} must be ${kind} from ${min} to ${max}, received ${describe(value)}`,
    );
  }
  if (Number.isNaN(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new RangeError(
      `${owner}: option ${option} must be ${kind} from ${min} to ${max}, received ${describe(value)}`,
    );
  }
  return value;
}

export function optionalNumber(
  owner: string,
  option: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  integer = true,
): number {
  return value === undefined ? fallback : checkNumber(owner, option, value, min, max, integer);
}

export function checkFunction<F>(owner: string, option: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new TypeError(`${owner}: option ${option} must be a function, received ${describe(value)}`);
  }
  return value as F;
}

export function checkObject(owner: string, option: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(
      `${owner}: option ${option} must be an options object or false, received ${describe(value)}`,
    );
  }
  return value as Record<string, unknown>;
}

/** Rejects option keys the owner does not know, so a typo fails loudly instead of silently using a default. */
export function checkKeys(
  owner: string,
  prefix: string,
  value: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${owner}: unknown option ${prefix}${key}; expected one of ${known.join(', ')}`);
    }
  }
}

export const MAX_MS = 2_147_483_647; // setTimeout's ceiling
