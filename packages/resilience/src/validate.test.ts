import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkBoolean, checkNumber, checkOneOf, checkOptions, optionConflict, received } from './adapter.js';

describe('option validation shared by every Keel package', () => {
  it('names the owner, the option, the expectation and the value received', () => {
    expect(() => checkNumber('retry', 'maxAttempts', 0, 1, 100)).toThrow(
      new RangeError('retry: option maxAttempts must be an integer from 1 to 100, received 0'),
    );
  });

  it('throws TypeError for a wrong type and RangeError for a right type out of range', () => {
    expect(() => checkNumber('o', 'n', '5', 1, 10)).toThrow(TypeError);
    expect(() => checkNumber('o', 'n', 11, 1, 10)).toThrow(RangeError);
    expect(() => checkNumber('o', 'n', Number.NaN, 1, 10)).toThrow(RangeError);
    expect(() => checkNumber('o', 'n', 1.5, 1, 10)).toThrow(RangeError);
  });

  it('names an argument or the options object without calling it an option', () => {
    expect(() => checkNumber('timeout', 'argument ms', -1, 1, 10)).toThrow(
      'timeout: argument ms must be an integer from 1 to 10, received -1',
    );
    expect(() => checkOptions('keel', 'yes', [])).toThrow(
      'keel: options must be an options object, received "yes"',
    );
  });

  it('rejects an unknown option naming it and the known ones', () => {
    expect(() => checkOptions('keel', { edeg: true }, ['edge', 'accessLog'])).toThrow(
      new TypeError('keel: unknown option "edeg"; expected one of edge, accessLog'),
    );
  });

  it('says what to do instead when two options exclude each other', () => {
    expect(() => optionConflict('httpClient "a"', 'pipeline', 'timeout', 'configure the pipeline')).toThrow(
      new TypeError(
        'httpClient "a": option pipeline cannot be combined with timeout; configure the pipeline',
      ),
    );
  });

  it('returns the fallback for an absent option and the value for a valid one', () => {
    expect(checkBoolean('o', 'b', undefined, true)).toBe(true);
    expect(checkBoolean('o', 'b', false, true)).toBe(false);
    expect(checkOneOf('o', 's', undefined, ['a', 'b'], 'a')).toBe('a');
    expect(() => checkOneOf('o', 's', 'c', ['a', 'b'], 'a')).toThrow(
      "o: option s must be one of 'a', 'b', received \"c\"",
    );
  });

  it.each([
    ['a short string, quoted', 'abc', '"abc"'],
    ['a long string, cut to 64 characters', 'x'.repeat(200), `"${'x'.repeat(64)}…"`],
    ['a newline, escaped', 'a\nb', '"a\\nb"'],
    ['a line separator, escaped', 'a\u2028b', '"a\\u2028b"'],
    ['a bidi override, escaped', 'a\u202eb', '"a\\u202eb"'],
    ['NaN', Number.NaN, 'NaN'],
    ['negative zero', -0, '-0'],
    ['a bigint', 10n, '10n'],
    ['null', null, 'null'],
    ['undefined', undefined, 'undefined'],
    ['an array', [1], 'an array'],
    ['an object', { toString: () => 'never shown' }, 'an object'],
    ['a function', () => 1, 'a function'],
    ['a symbol', Symbol('s'), 'a symbol'],
  ])('renders %s', (_, value, shown) => {
    expect(received(value)).toBe(shown);
  });

  it('never cuts a surrogate pair in half', () => {
    expect(received(`${'x'.repeat(63)}😀tail`)).toBe(`"${'x'.repeat(63)}…"`);
  });

  it('renders a revoked proxy without throwing', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(received(proxy)).toBe('an object');
  });

  it('renders any value as one bounded line without running its code', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withMap: true, withSet: true }), fc.string(), (v, s) => {
        for (const value of [v, s]) {
          const shown = received(value);
          expect(shown.length).toBeLessThanOrEqual(2 + 64 * 6 + 1);
          const unsafe = [...shown].filter((c) => {
            const code = c.codePointAt(0) ?? 0;
            return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
          });
          expect(unsafe).toEqual([]);
        }
      }),
    );
  });
});
