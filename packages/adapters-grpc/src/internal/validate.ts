// Option checks. Messages name the owner, the option, what was expected and the value received.

export function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export function fail(owner: string, option: string, expected: string, value: unknown): never {
  throw new TypeError(`${owner}: option ${option} must be ${expected}, received ${describe(value)}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkOptions(
  owner: string,
  options: unknown,
  known: readonly string[],
): Record<string, unknown> {
  if (options === undefined) return {};
  if (!isPlainObject(options)) fail(owner, 'options', 'an options object', options);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `${owner}: unknown option ${JSON.stringify(key)}; known options: ${known.join(', ')}`,
      );
    }
  }
  return options;
}

export function checkBoolean(owner: string, option: string, value: unknown): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  return fail(owner, option, 'a boolean', value);
}

export function checkInteger(
  owner: string,
  option: string,
  value: unknown,
  min: number,
  max: number,
): number {
  const expected = `an integer from ${min} to ${max}`;
  if (typeof value !== 'number') fail(owner, option, expected, value);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${owner}: option ${option} must be ${expected}, received ${describe(value)}`);
  }
  return value;
}

export function checkTelemetry<T>(owner: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof (value as { propagator?: unknown } | null)?.propagator !== 'object') {
    fail(owner, 'telemetry', 'a Telemetry handle from @keel/telemetry', value);
  }
  return value as T;
}
