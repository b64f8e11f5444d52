// Construction-time option checks for this package: messages name the owner, the option, what it must be and the value.

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? 'an object' : String(value);
}

export function fail(owner: string, option: string, expected: string, value: unknown): never {
  throw new TypeError(`${owner}: ${option} must be ${expected}, received ${describe(value)}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkKeys(owner: string, options: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      throw new TypeError(`${owner}: unknown option ${key}; expected one of ${known.join(', ')}`);
  }
}

export function checkInteger(
  owner: string,
  option: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const message = `${owner}: option ${option} must be an integer from ${min} to ${max}, received ${describe(value)}`;
  if (typeof value !== 'number') throw new TypeError(message);
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(message);
  return value;
}

// AMQP short strings: at most 255 bytes; queue and exchange names the broker accepts.
const NAME = /^[A-Za-z0-9_.:\-/]{0,200}$/;

export function checkName(owner: string, option: string, value: unknown, allowEmpty: boolean): string {
  if (typeof value !== 'string' || !NAME.test(value) || (!allowEmpty && value === '')) {
    fail(owner, option, `${allowEmpty ? '' : 'a non-empty '}string of at most 200 [A-Za-z0-9_.:-/]`, value);
  }
  return value;
}
