// Misuse throws at construction, naming the option, what it must be, and what was received.

/** A short, safe rendering of a received value for an error message. */
export function received(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return 'an object';
  return String(value);
}

/** The options object itself: undefined or a plain object with only `known` keys. */
export function checkOptions<T extends object>(owner: string, options: unknown, known: readonly string[]): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an object, received ${received(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${owner}: unknown option ${key} (known: ${known.join(', ')})`);
    }
  }
  return options as T;
}

export function checkBoolean(owner: string, name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    throw new TypeError(`${owner}: option ${name} must be a boolean, received ${received(value)}`);
  }
  return value;
}

export function checkInteger(
  owner: string,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') {
    throw new TypeError(`${owner}: option ${name} must be a number, received ${received(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${owner}: option ${name} must be an integer from ${min} to ${max}, received ${value}`,
    );
  }
  return value;
}

export function checkFunction<F>(owner: string, name: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new TypeError(`${owner}: option ${name} must be a function, received ${received(value)}`);
  }
  return value as F;
}

/** A `Telemetry` handle (duck-typed: another installed copy of @keel/telemetry is fine). */
export function checkTelemetry<T>(
  owner: string,
  name: string,
  value: unknown,
  member: string,
): T | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Record<string, unknown>)[member] !== 'function'
  ) {
    throw new TypeError(
      `${owner}: ${name} must be the handle startTelemetry() returned, received ${received(value)}`,
    );
  }
  return value as T;
}
