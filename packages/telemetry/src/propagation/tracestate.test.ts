import { createTraceState, type TraceState } from '@opentelemetry/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTracestate, tracestateHeader } from './tracestate.js';

// Arbitrary, binary and very long strings: what an attacker can put in a header.
const hostile = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ maxLength: 2000 }),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 200_000 }))
    .map(([s, n]) => s.repeat(n)),
);

const members = (n: number, key = (i: number) => `k${i}`) =>
  Array.from({ length: n }, (_, i) => `${key(i)}=v`).join(',');

describe('parseTracestate', () => {
  it.each([
    [
      'the spec example',
      'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
      'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    ],
    ['whitespace around members', ' rojo=1 ,\tcongo=2\t', 'rojo=1,congo=2'],
    ['empty and whitespace-only members', ',rojo=1,, ,congo=2,', 'rojo=1,congo=2'],
    ['a multi-tenant key', 'tenant@vendor=1', 'tenant@vendor=1'],
    ['a multi-tenant key whose tenant starts with a digit', '001@xyz=1', '001@xyz=1'],
    ['a Level 2 key starting with a digit', '1vendor=1', '1vendor=1'],
    ['a Level 2 key with `@` anywhere', 'a@b@c=1', 'a@b@c=1'],
    ['a key with every keychar', 'a0_-*/@=1', 'a0_-*/@=1'],
    ['a 256-character vendor key', `${'v'.repeat(256)}=1`, `${'v'.repeat(256)}=1`],
    ['a 256-character value', `k=${'x'.repeat(256)}`, `k=${'x'.repeat(256)}`],
    ['a value with inner and leading spaces', 'k= a b', 'k= a b'],
    ['a value with every other printable character', 'k=!"#$%&\'()*+-./:;<>?@[\\]^_`{|}~', null],
    ['32 members', members(32), null],
    ['exactly 512 characters', `k=${'x'.repeat(256)},l=${'y'.repeat(251)}`, null],
    ['a duplicate key, keeping its first value', 'rojo=1,congo=2,rojo=3', 'rojo=1,congo=2'],
    ['a key repeated across joined header fields', 'rojo=1,congo=2, rojo=1,congo=2', 'rojo=1,congo=2'],
    ['32 distinct members and a duplicate', `${members(32)},k0=again`, members(32)],
  ])('accepts %s', (_name, header, serialized) => {
    expect(parseTracestate(header)?.serialize()).toBe(serialized ?? header);
  });

  it.each([
    ['33 members', members(33)],
    ['513 characters', `k=${'x'.repeat(256)},l=${'y'.repeat(252)}`],
    ['513 characters made of whitespace and one member', `k=1${' '.repeat(510)}`],
    ['a duplicate key whose later value breaks the grammar', 'rojo=1,congo=2,rojo=a=b'],
    ['33 distinct members besides a duplicate', `${members(33)},k0=v`],
    ['a 257-character key', `${'v'.repeat(257)}=1`],
    ['a 257-character value', `k=${'x'.repeat(257)}`],
    ['an uppercase key', 'Rojo=1'],
    ['a key starting with `@`', '@vendor=1'],
    ['a key with a dot', 'ro.jo=1'],
    ['a value containing `=`', 'k=a=b'],
    ['an empty value', 'k='],
    ['a value with a tab', 'k=a\tb'],
    ['a value with a non-ASCII character', 'k=é'],
    ['a member without `=`', 'rojo'],
    ['a member without a key', '=1'],
    ['a space before `=`', 'k =1'],
    ['one invalid member among valid ones', 'rojo=1,BAD=2,congo=3'],
    ['an empty header', ''],
    ['a whitespace-only header', ' , '],
    ['a non-string', ['rojo=1']],
  ])('drops the whole header for %s', (_name, header) => {
    expect(parseTracestate(header)).toBeUndefined();
  });

  it('never throws on arbitrary strings and never exceeds 32 members or 512 characters', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        const state = parseTracestate(s);
        if (state === undefined) return;
        const header = state.serialize();
        expect(header.length).toBeLessThanOrEqual(512);
        expect(header.split(',').length).toBeLessThanOrEqual(32);
      }),
    );
  });

  it('keeps the first value of every repeated key and the order of first appearance, for any list', () => {
    const key = fc.constantFrom('rojo', 'congo', 'a@b', '1v', 'k0');
    const value = fc.stringMatching(/^[!-+\--<>-~]{1,8}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 40 }), (list) => {
        const header = list.map(([k, v]) => `${k}=${v}`).join(',');
        const firsts = new Map<string, string>();
        for (const [k, v] of list) if (!firsts.has(k)) firsts.set(k, v);
        const expected = Array.from(firsts, ([k, v]) => `${k}=${v}`).join(',');
        const state = parseTracestate(header);
        if (header.length > 512) expect(state).toBeUndefined();
        else expect(state?.serialize()).toBe(expected);
      }),
    );
  });

  it('re-parses its own serialization to the same state', () => {
    const key = fc.stringMatching(/^[a-z0-9][a-z0-9_\-*/@]{0,20}$/);
    const value = fc.stringMatching(/^[ -+\--<>-~]{0,30}[!-+\--<>-~]$/);
    const ows = fc.constantFrom('', ' ', '\t', '  ');
    const member = fc.tuple(ows, key, value, ows).map(([a, k, v, b]) => `${a}${k}=${v}${b}`);
    fc.assert(
      fc.property(fc.array(member, { maxLength: 40 }), (list) => {
        const state = parseTracestate(list.join(','));
        if (state === undefined) return;
        expect(parseTracestate(state.serialize())?.serialize()).toBe(state.serialize());
      }),
    );
  });

  it('rejects a 1 MB header in well under 10 ms', () => {
    const huge = `rojo=1,${' '.repeat(1 << 20)}`;
    expect(parseTracestate(huge)).toBeUndefined();
    // Fastest of three warm calls: the check is about the parser's cost, not a GC pause or a busy CI host.
    const elapsed = Math.min(
      ...[1, 2, 3].map(() => {
        const start = performance.now();
        parseTracestate(huge);
        return performance.now() - start;
      }),
    );
    expect(elapsed).toBeLessThan(10);
  });
});

describe('the parsed TraceState', () => {
  const state = parseTracestate('rojo=1,congo=2')!;

  it('moves a set key to the front and leaves the original untouched', () => {
    expect(state.set('congo', '3').serialize()).toBe('congo=3,rojo=1');
    expect(state.serialize()).toBe('rojo=1,congo=2');
  });

  it('ignores a set with an invalid key or value', () => {
    expect(state.set('Bad', '1').serialize()).toBe('rojo=1,congo=2');
    expect(state.set('ok', 'a,b').serialize()).toBe('rojo=1,congo=2');
  });

  it('unsets a key and reads the rest', () => {
    const next = state.unset('rojo');
    expect(next.get('rojo')).toBeUndefined();
    expect(next.get('congo')).toBe('2');
    expect(state.get('rojo')).toBe('1');
  });

  it('drops the right-most member when a set would make 33', () => {
    const full = parseTracestate(members(32))!;
    const next = full.set('new', 'v');
    expect(next.get('new')).toBe('v');
    expect(next.get('k31')).toBeUndefined();
    expect(next.serialize().split(',')).toHaveLength(32);
  });

  it('drops members over 128 characters first when a set would pass 512 characters', () => {
    const big = `big=${'x'.repeat(200)}`;
    const full = parseTracestate(`a=${'1'.repeat(150)},${big},c=${'3'.repeat(100)}`)!;
    const next = full.set('d', 'y'.repeat(100));
    expect(next.get('big')).toBeUndefined();
    expect(next.get('a')).toBe('1'.repeat(150));
    expect(next.serialize().length).toBeLessThanOrEqual(512);
  });
});

describe('tracestateHeader', () => {
  it('truncates a foreign TraceState past 512 characters, large right-most members first', () => {
    const serialized = ['a=1', `b=${'2'.repeat(200)}`, `c=${'3'.repeat(200)}`, `d=${'4'.repeat(200)}`, 'e=5'];
    const foreign: TraceState = {
      serialize: () => serialized.join(','),
      get: () => undefined,
      set: () => foreign,
      unset: () => foreign,
    };
    expect(tracestateHeader(foreign)).toBe(`a=1,b=${'2'.repeat(200)},c=${'3'.repeat(200)},e=5`);
  });

  it('sends an OpenTelemetry TraceState unchanged when it is within the limits', () => {
    const foreign = createTraceState('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
    expect(tracestateHeader(foreign)).toBe('congo=t61rcWkgMzE,rojo=00f067aa0ba902b7');
  });

  it('sends nothing for a missing state', () => {
    expect(tracestateHeader(undefined)).toBe('');
  });
});
