import { ROOT_CONTEXT } from '@opentelemetry/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  getCorrelationId,
  isValidCorrelationId,
  newCorrelationId,
  runWithCorrelationId,
  setCorrelationId,
} from './correlation.js';

describe('isValidCorrelationId', () => {
  it.each([
    ['a UUID', '3b241101-e2bb-4255-8caf-4136c566a962'],
    ['one character', 'a'],
    ['128 characters', 'x'.repeat(128)],
    ['dots, colons and underscores', 'svc.a:req_1-2'],
  ])('accepts %s', (_name, id) => {
    expect(isValidCorrelationId(id)).toBe(true);
  });

  it.each([
    ['an empty string', ''],
    ['129 characters', 'x'.repeat(129)],
    ['a space', 'a b'],
    ['a newline (log injection)', 'a\nb'],
    ['a slash', 'a/b'],
    ['non-ASCII letters', 'é'],
    ['a non-string', 42],
  ])('rejects %s', (_name, id) => {
    expect(isValidCorrelationId(id)).toBe(false);
  });

  it('never throws and only accepts 1–128 characters of [A-Za-z0-9._:-]', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.stringMatching(/^[A-Za-z0-9._:\- ]{0,140}$/),
          fc
            .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 200_000 }))
            .map(([s, n]) => s.repeat(n)),
        ),
        (s) => {
          if (isValidCorrelationId(s)) expect(s).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
        },
      ),
    );
  });

  it('rejects a 1 MB value in well under 10 ms', () => {
    const huge = 'a'.repeat(1 << 20);
    expect(isValidCorrelationId(huge)).toBe(false);
    // Fastest of three warm calls: the check is about the parser's cost, not a GC pause or a busy CI host.
    const elapsed = Math.min(
      ...[1, 2, 3].map(() => {
        const start = performance.now();
        isValidCorrelationId(huge);
        return performance.now() - start;
      }),
    );
    expect(elapsed).toBeLessThan(10);
  });
});

describe('correlation context', () => {
  it('stores a valid ID in the context', () => {
    expect(getCorrelationId(setCorrelationId(ROOT_CONTEXT, 'req-1'))).toBe('req-1');
  });

  it('replaces an invalid ID with a fresh valid one', () => {
    const id = getCorrelationId(setCorrelationId(ROOT_CONTEXT, 'bad id'));
    expect(id).not.toBe('bad id');
    expect(isValidCorrelationId(id)).toBe(true);
  });

  it('makes the ID active inside runWithCorrelationId, across await', async () => {
    const seen = await runWithCorrelationId('req-2', async () => {
      await Promise.resolve();
      return getCorrelationId();
    });
    expect(seen).toBe('req-2');
  });

  it('generates valid, distinct IDs', () => {
    const a = newCorrelationId();
    expect(isValidCorrelationId(a)).toBe(true);
    expect(newCorrelationId()).not.toBe(a);
  });
});
