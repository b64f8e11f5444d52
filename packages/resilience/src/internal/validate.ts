// The one option-validation module of every Keel package (adapters reach it through
// `@keel/resilience/adapter`). Misuse throws at construction with one message shape:
//
//   <owner>: option <option> must be <expectation>, received <value>
//   <owner>: unknown option <key>; expected one of <known options>
//   <owner>: option <option> cannot be combined with <other options>; <what to do instead>
//
// A wrong type is a TypeError; a value of the right type outside its range is a RangeError.

/** setTimeout's ceiling: the longest delay, in milliseconds, a timer can wait. */
export const MAX_MS = 2_147_483_647;

/** How many characters of a received string an error message shows. */
const SHOWN_CHARS = 64;

// Characters that would break a log line or reorder the text around them: JSON.stringify escapes the
// C0 controls and quotes, but leaves C1 controls, line and paragraph separators and bidi controls as is.
const UNSAFE = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

function quote(text: string): string {
  let shown = text.length > SHOWN_CHARS ? text.slice(0, SHOWN_CHARS) : text;
  // Never cut a surrogate pair in half.
  if (shown.length < text.length && /[\ud800-\udbff]$/.test(shown)) shown = shown.slice(0, -1);
  const json = JSON.stringify(shown.length < text.length ? `${shown}…` : shown);
  return json.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A short, single-line rendering of a received value for an error message: strings quoted and cut to
 * 64 characters, numbers as written, anything else by its kind. It never calls the value's own code
 * (no toString, getters or proxy traps beyond `Array.isArray`) and never throws.
 */
export function received(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      return Object.is(value, -0) ? '-0' : String(value);
    case 'bigint':
      return `${value}n`;
    case 'boolean':
    case 'undefined':
      return String(value);
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      if (value === null) return 'null';
      try {
        return Array.isArray(value) ? 'an array' : 'an object';
      } catch {
        return 'an object'; // a revoked proxy
      }
  }
}

// `option` is an option path such as `retry.maxAttempts`; a positional argument is named
// `argument <name>`, and the options object itself `options`.
function subject(option: string): string {
  return option === 'options' || option.startsWith('argument ') ? option : `option ${option}`;
}

/** The message of every invalid option: owner, option, expectation and the value received. */
export function optionMessage(owner: string, option: string, expected: string, value: unknown): string {
  return `${owner}: ${subject(option)} must be ${expected}, received ${received(value)}`;
}

/** Throws a TypeError for an option of the wrong type (or shape). */
export function invalidOption(owner: string, option: string, expected: string, value: unknown): never {
  throw new TypeError(optionMessage(owner, option, expected, value));
}

/** Throws a RangeError for an option of the right type but outside what it allows. */
export function optionOutOfRange(owner: string, option: string, expected: string, value: unknown): never {
  throw new RangeError(optionMessage(owner, option, expected, value));
}

/** Throws a TypeError for two options that exclude each other, saying what to do instead. */
export function optionConflict(owner: string, option: string, others: string, advice: string): never {
  throw new TypeError(`${owner}: option ${option} cannot be combined with ${others}; ${advice}`);
}

/** True for a non-null, non-array object: what an options object must be. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Rejects keys `owner` does not know, so a typo fails loudly instead of silently using a default.
 * `prefix` names where the object sits (`retry.`), empty at the top level.
 */
export function checkKeys(
  owner: string,
  prefix: string,
  value: object,
  known: readonly string[] | ReadonlySet<string>,
): void {
  for (const key of Object.keys(value)) {
    if (Array.isArray(known) ? !known.includes(key) : !(known as ReadonlySet<string>).has(key)) {
      throw new TypeError(
        `${owner}: unknown option ${received(prefix + key)}; expected one of ${[...known].join(', ')}`,
      );
    }
  }
}

/** The options object itself: undefined (or null) reads as no options; otherwise an object with only `known` keys. */
export function checkOptions<T extends object>(
  owner: string,
  options: unknown,
  known: readonly string[] | ReadonlySet<string>,
): T {
  if (options === undefined || options === null) return {} as T;
  if (!isPlainObject(options)) invalidOption(owner, 'options', 'an options object', options);
  checkKeys(owner, '', options, known);
  return options as T;
}

/** A nested options object (`retry: {...}`); `expected` says what else the option takes, such as `false`. */
export function checkObject(
  owner: string,
  option: string,
  value: unknown,
  expected = 'an options object or false',
): Record<string, unknown> {
  if (!isPlainObject(value)) invalidOption(owner, option, expected, value);
  return value;
}

function numberExpectation(min: number, max: number, integer: boolean): string {
  const kind = integer ? 'an integer' : 'a number';
  return max === Number.POSITIVE_INFINITY ? `${kind} of at least ${min}` : `${kind} from ${min} to ${max}`;
}

/** A required number within [min, max] (an integer unless `integer` is false). */
export function checkNumber(
  owner: string,
  option: string,
  value: unknown,
  min: number,
  max: number,
  integer = true,
): number {
  if (typeof value !== 'number') invalidOption(owner, option, numberExpectation(min, max, integer), value);
  if (Number.isNaN(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    optionOutOfRange(owner, option, numberExpectation(min, max, integer), value);
  }
  return value;
}

/** An optional number: `fallback` when undefined, otherwise as {@link checkNumber}. */
export function optionalNumber<F extends number | undefined>(
  owner: string,
  option: string,
  value: unknown,
  fallback: F,
  min: number,
  max: number,
  integer = true,
): number | F {
  return value === undefined ? fallback : checkNumber(owner, option, value, min, max, integer);
}

/** An optional boolean: `fallback` when undefined. */
export function checkBoolean<F extends boolean | undefined>(
  owner: string,
  option: string,
  value: unknown,
  fallback: F,
): boolean | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') invalidOption(owner, option, 'a boolean', value);
  return value;
}

/** An optional function. */
export function checkFunction<F>(owner: string, option: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') invalidOption(owner, option, 'a function', value);
  return value as F;
}

/** A required string of at least one character. */
export function checkNonEmptyString(owner: string, option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') invalidOption(owner, option, 'a non-empty string', value);
  return value;
}

/** An optional value from a fixed list of strings: `fallback` when undefined. */
export function checkOneOf<const T extends string, F extends T | undefined>(
  owner: string,
  option: string,
  value: unknown,
  allowed: readonly T[],
  fallback: F,
): T | F {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    invalidOption(owner, option, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}
