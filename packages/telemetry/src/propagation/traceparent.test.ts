import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTraceparent, parseTraceparent, TRACE_FLAG_RANDOM } from './traceparent.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;
const huge = fc
  .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 200_000 }))
  .map(([s, n]) => s.repeat(n));

describe('parseTraceparent', () => {
  it.each([
    ['the spec example, sampled', VALID, 0x01],
    ['the spec example, not sampled', `00-${TRACE_ID}-${SPAN_ID}-00`, 0x00],
    ['the Level 2 random flag alone', `00-${TRACE_ID}-${SPAN_ID}-02`, 0x02],
    ['sampled and random', `00-${TRACE_ID}-${SPAN_ID}-03`, 0x03],
    ['unknown flag bits, masked off', `00-${TRACE_ID}-${SPAN_ID}-ff`, 0x03],
    ['`09` read as sampled plus an unknown bit', `00-${TRACE_ID}-${SPAN_ID}-09`, 0x01],
    ['a future version of exactly 55 characters', `cc-${TRACE_ID}-${SPAN_ID}-01`, 0x01],
    ['a future version with extra fields', `cc-${TRACE_ID}-${SPAN_ID}-01-what-the-future-holds`, 0x01],
    ['a future version with an empty extra field', `01-${TRACE_ID}-${SPAN_ID}-03-`, 0x03],
  ])('accepts %s', (_name, header, flags) => {
    expect(parseTraceparent(header)).toEqual({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: flags,
      isRemote: true,
    });
  });

  it.each([
    ['uppercase hex in the trace-id', `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`],
    ['uppercase hex in the parent-id', `00-${TRACE_ID}-00F067AA0BA902B7-01`],
    ['uppercase hex in the flags', `00-${TRACE_ID}-${SPAN_ID}-0A`],
    ['uppercase hex in the version', `0A-${TRACE_ID}-${SPAN_ID}-01`],
    ['an all-zero trace-id', `00-${'0'.repeat(32)}-${SPAN_ID}-01`],
    ['an all-zero parent-id', `00-${TRACE_ID}-${'0'.repeat(16)}-01`],
    ['version ff', `ff-${TRACE_ID}-${SPAN_ID}-01`],
    ['version 00 with a trailing field', `${VALID}-extra`],
    ['version 00 with a trailing space', `${VALID} `],
    ['version 00 with a leading space', ` ${VALID}`],
    ['a trace-id one character short', `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`],
    ['a trace-id one character long', `00-${TRACE_ID}a-${SPAN_ID}-01`],
    ['a parent-id one character short', `00-${TRACE_ID}-${SPAN_ID.slice(1)}-01`],
    ['a one-character flags field', `00-${TRACE_ID}-${SPAN_ID}-1`],
    ['a three-character version', `000-${TRACE_ID}-${SPAN_ID}-01`],
    ['a future version followed by something other than a dash', `cc-${TRACE_ID}-${SPAN_ID}-01.x`],
    ['non-hex characters', `00-${TRACE_ID.slice(0, 31)}g-${SPAN_ID}-01`],
    ['underscores for dashes', `00_${TRACE_ID}_${SPAN_ID}_01`],
    ['an empty string', ''],
    ['a number', 42],
    ['undefined', undefined],
    ['an array of a valid value', [VALID]],
  ])('rejects %s', (_name, header) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });

  it('never throws on arbitrary strings, and anything it accepts has valid ids and known flags only', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          huge,
          // Near misses: a valid header with one character replaced, or with something appended.
          fc
            .tuple(fc.nat(54), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }))
            .map(([i, c]) => VALID.slice(0, i) + c + VALID.slice(i + 1)),
          fc.string({ unit: 'binary' }).map((tail) => `cc${VALID.slice(2)}${tail}`),
        ),
        (s) => {
          const parsed = parseTraceparent(s);
          if (parsed === undefined) return;
          expect(parsed.traceId).toMatch(/^[0-9a-f]{32}$/);
          expect(parsed.spanId).toMatch(/^[0-9a-f]{16}$/);
          expect(parsed.traceFlags & ~0x03).toBe(0);
        },
      ),
    );
  });

  it('re-parses its own output to the same span context', () => {
    const hex = (n: number) => fc.stringMatching(new RegExp(`^[0-9a-f]{${n}}$`));
    const header = fc
      .tuple(hex(2), hex(32), hex(16), hex(2), fc.constantFrom('', '-x', '-'))
      .map(([v, t, s, f, rest]) => `${v}-${t}-${s}-${f}${v === '00' ? '' : rest}`);
    fc.assert(
      fc.property(header, (value) => {
        const parsed = parseTraceparent(value);
        if (parsed === undefined) return;
        expect(parseTraceparent(formatTraceparent(parsed))).toEqual(parsed);
      }),
    );
  });

  it('handles a 1 MB header in well under 10 ms', () => {
    // A future version may be long; only its first 55 characters are ever read.
    const huge = `cc-${TRACE_ID}-${SPAN_ID}-01-${'x'.repeat(1 << 20)}`;
    expect(parseTraceparent(huge)?.traceId).toBe(TRACE_ID);
    // Fastest of three warm calls: the check is about the parser's cost, not a GC pause or a busy CI host.
    const elapsed = Math.min(
      ...[1, 2, 3].map(() => {
        const start = performance.now();
        parseTraceparent(huge);
        return performance.now() - start;
      }),
    );
    expect(elapsed).toBeLessThan(10);
  });
});

describe('formatTraceparent', () => {
  it('writes version 00 with the sampled and random flags it was given', () => {
    const header = formatTraceparent({
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: 0x01 | TRACE_FLAG_RANDOM,
    });
    expect(header).toBe(`00-${TRACE_ID}-${SPAN_ID}-03`);
  });

  it('zeroes flag bits the spec does not define', () => {
    expect(formatTraceparent({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 0xfe })).toBe(
      `00-${TRACE_ID}-${SPAN_ID}-02`,
    );
  });

  it('downgrades a future version to 00 and keeps its flags', () => {
    const parsed = parseTraceparent(`cc-${TRACE_ID}-${SPAN_ID}-03-more`);
    expect(parsed && formatTraceparent(parsed)).toBe(`00-${TRACE_ID}-${SPAN_ID}-03`);
  });
});
