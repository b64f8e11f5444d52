import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatDeadlineHeader,
  formatGrpcTimeout,
  parseDeadlineHeader,
  parseGrpcTimeout,
} from './deadline-header.js';

// Arbitrary, binary and very long strings: what an attacker can put in a header.
const hostile = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.stringMatching(/^[0-9]{0,14}[HMSmun]?$/),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 200_000 }))
    .map(([s, n]) => s.repeat(n)),
);

describe('parseDeadlineHeader', () => {
  it.each([
    ['0', 0],
    ['250', 250],
    ['0030', 30],
    ['9999999999', 9_999_999_999],
  ])('reads %j as %d ms', (header, ms) => {
    expect(parseDeadlineHeader(header)).toBe(ms);
  });

  it.each([
    ['eleven digits', '10000000000'],
    ['a negative number', '-1'],
    ['a fraction', '1.5'],
    ['an exponent', '1e3'],
    ['a sign', '+5'],
    ['surrounding space', ' 5'],
    ['hex', '0x10'],
    ['full-width digits', '１２'],
    ['an empty string', ''],
    ['a number instead of a string', 5],
  ])('ignores %s', (_name, header) => {
    expect(parseDeadlineHeader(header)).toBeUndefined();
  });

  it('never throws and only returns integers from 0 to 9 999 999 999', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const ms = parseDeadlineHeader(s);
        if (ms === undefined) return;
        expect(Number.isSafeInteger(ms) && ms >= 0 && ms <= 9_999_999_999).toBe(true);
        expect(parseDeadlineHeader(formatDeadlineHeader(ms))).toBe(ms);
      }),
    );
  });

  it('rejects a 1 MB header in well under 10 ms', () => {
    const huge = '9'.repeat(1 << 20);
    expect(parseDeadlineHeader(huge)).toBeUndefined();
    // Fastest of three warm calls: the check is about the parser's cost, not a GC pause or a busy CI host.
    const elapsed = Math.min(
      ...[1, 2, 3].map(() => {
        const start = performance.now();
        parseDeadlineHeader(huge);
        return performance.now() - start;
      }),
    );
    expect(elapsed).toBeLessThan(10);
  });
});

describe('formatDeadlineHeader', () => {
  it.each([
    [1234.9, '1234'],
    [0.4, '0'],
    [-50, '0'],
    [Number.NaN, '0'],
    [Number.POSITIVE_INFINITY, '9999999999'],
  ])('writes %d ms as %j, never granting more time than is left', (ms, header) => {
    expect(formatDeadlineHeader(ms)).toBe(header);
  });
});

describe('parseGrpcTimeout', () => {
  it.each([
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3_000],
    ['250m', 250],
    ['1500u', 1.5],
    ['2000000n', 2],
    ['0m', 0],
    ['99999999H', 99_999_999 * 3_600_000],
  ])('reads %j as %d ms', (header, ms) => {
    expect(parseGrpcTimeout(header)).toBe(ms);
  });

  it.each([
    ['nine digits', '100000000m'],
    ['no unit', '100'],
    ['an unknown unit', '100s'],
    ['no digits', 'm'],
    ['a fraction', '1.5S'],
    ['a space before the unit', '10 m'],
    ['a negative value', '-1m'],
    ['a non-string', 100],
  ])('ignores %s', (_name, header) => {
    expect(parseGrpcTimeout(header)).toBeUndefined();
  });

  it('never throws and only returns finite, non-negative milliseconds', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const ms = parseGrpcTimeout(s);
        if (ms !== undefined) expect(Number.isFinite(ms) && ms >= 0).toBe(true);
      }),
    );
  });

  it('rejects a 1 MB header in well under 10 ms', () => {
    const huge = `${'9'.repeat(1 << 20)}m`;
    expect(parseGrpcTimeout(huge)).toBeUndefined();
    // Fastest of three warm calls: the check is about the parser's cost, not a GC pause or a busy CI host.
    const elapsed = Math.min(
      ...[1, 2, 3].map(() => {
        const start = performance.now();
        parseGrpcTimeout(huge);
        return performance.now() - start;
      }),
    );
    expect(elapsed).toBeLessThan(10);
  });
});

describe('formatGrpcTimeout', () => {
  it.each([
    [250, '250m'],
    [1.5, '1500u'],
    [99_999_999, '99999999m'],
    [100_000_000, '100000S'],
    [0, '0m'],
    [-5, '0m'],
    [Number.NaN, '0m'],
    [Number.POSITIVE_INFINITY, '99999999H'],
  ])('writes %d ms as %j', (ms, header) => {
    expect(formatGrpcTimeout(ms)).toBe(header);
  });

  it('always writes a value gRPC accepts that never exceeds the time left', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1e15, noNaN: true }), (ms) => {
        const back = parseGrpcTimeout(formatGrpcTimeout(ms));
        expect(back).toBeDefined();
        expect(back).toBeLessThanOrEqual(ms);
      }),
    );
  });
});
