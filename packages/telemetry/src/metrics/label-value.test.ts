import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_LABEL_VALUE_LENGTH, sanitizeLabelValue } from './label-value.js';

describe('sanitizeLabelValue', () => {
  it('returns ordinary values unchanged', () => {
    expect(sanitizeLabelValue('/users/:id')).toBe('/users/:id');
  });

  it('coerces numbers to strings', () => {
    expect(sanitizeLabelValue(503)).toBe('503');
  });

  it('strips CR, LF and other control characters', () => {
    expect(sanitizeLabelValue('a\r\nb\u0000c\u007fd\u0085e\tf')).toBe('abcdef');
  });

  it('cuts a 1 MB value to 128 characters', () => {
    expect(sanitizeLabelValue('x'.repeat(1024 * 1024))).toBe('x'.repeat(MAX_LABEL_VALUE_LENGTH));
  });

  it('never cuts a surrogate pair in half', () => {
    const value = `${'x'.repeat(MAX_LABEL_VALUE_LENGTH - 1)}😀tail`;
    expect(sanitizeLabelValue(value)).toBe('x'.repeat(MAX_LABEL_VALUE_LENGTH - 1));
  });

  it('always yields at most 128 characters free of control characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (value) => {
        const clean = sanitizeLabelValue(value);
        expect(clean.length).toBeLessThanOrEqual(MAX_LABEL_VALUE_LENGTH);
        expect(/[\p{Cc}]/u.test(clean)).toBe(false);
      }),
    );
  });
});
