// Stand-in for the shared option-validation module of @keel/resilience/adapter, with its names and
// message shape, until that module is on main.

function received(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export function invalidOption(owner: string, option: string, expected: string, value: unknown): never {
  const subject = option.startsWith('argument ') ? option : `option ${option}`;
  throw new TypeError(`${owner}: ${subject} must be ${expected}, received ${received(value)}`);
}

export function optionOutOfRange(owner: string, option: string, expected: string, value: unknown): never {
  throw new RangeError(`${owner}: option ${option} must be ${expected}, received ${received(value)}`);
}

export function checkOptions<T extends object>(owner: string, options: unknown, known: readonly string[]): T {
  if (options === undefined || options === null) return {} as T;
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${owner}: options must be an options object, received ${received(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${owner}: unknown option ${received(key)}; expected one of ${known.join(', ')}`);
    }
  }
  return options as T;
}

export function optionalNumber(
  owner: string,
  option: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const expected = `an integer from ${min} to ${max}`;
  if (typeof value !== 'number') invalidOption(owner, option, expected, value);
  if (!Number.isInteger(value) || value < min || value > max)
    optionOutOfRange(owner, option, expected, value);
  return value;
}

export function checkBoolean(owner: string, option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalidOption(owner, option, 'a boolean', value);
  return value;
}
