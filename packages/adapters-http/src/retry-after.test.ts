import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from './retry-after.js';

const NOW = Date.parse('Wed, 21 Oct 2026 07:28:00 GMT');

describe('parseRetryAfter', () => {
  it.each<[unknown, number | undefined]>([
    ['120', 120_000],
    [' 0 ', 0],
    [['3', '9'], 3_000],
    ['Wed, 21 Oct 2026 07:28:30 GMT', 30_000],
    ['Wednesday, 21-Oct-26 07:28:30 GMT', 30_000],
    ['Tue, 20 Oct 2026 07:28:00 GMT', 0],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['99999999999', undefined],
    ['', undefined],
    [undefined, undefined],
    [42, undefined],
    [`Wed, ${'9'.repeat(100_000)}`, undefined],
  ])('reads %j as %j ms', (value, expected) => {
    expect(parseRetryAfter(value, NOW)).toBe(expected);
  });

  it('never throws and never answers a negative or non-finite wait', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 64 }), (value) => {
        const ms = parseRetryAfter(value, NOW);
        expect(ms === undefined || (Number.isFinite(ms) && ms >= 0)).toBe(true);
      }),
    );
  });
});
