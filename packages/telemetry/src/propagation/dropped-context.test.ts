import { defaultTextMapGetter, ROOT_CONTEXT } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { type DroppedContextReason, keelPropagator } from './propagator.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const VALID = {
  traceparent: TRACEPARENT,
  tracestate: 'rojo=00f067aa0ba902b7',
  baggage: 'userId=alice',
  'x-correlation-id': 'req-42',
};

function dropped(carrier: Record<string, string | string[]>): [string, DroppedContextReason][] {
  const seen: [string, DroppedContextReason][] = [];
  const propagator = keelPropagator({ onDropped: (header, reason) => seen.push([header, reason]) });
  propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  return seen;
}

describe('KeelPropagator onDropped', () => {
  it('reports nothing for valid or absent context', () => {
    expect(dropped(VALID)).toEqual([]);
    expect(dropped({})).toEqual([]);
  });

  it.each<[string, Record<string, string | string[]>, [string, DroppedContextReason]]>([
    ['an invalid traceparent', { traceparent: '00-xyz-01' }, ['traceparent', 'invalid']],
    ['an invalid tracestate', { ...VALID, tracestate: 'not a member' }, ['tracestate', 'invalid']],
    [
      'a tracestate over 512 characters',
      { ...VALID, tracestate: `a=${'b'.repeat(600)}` },
      ['tracestate', 'too_large'],
    ],
    [
      'a tracestate of more than 32 members',
      { ...VALID, tracestate: Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',') },
      ['tracestate', 'too_large'],
    ],
    ['baggage over 8192 bytes', { ...VALID, baggage: `k=${'v'.repeat(9000)}` }, ['baggage', 'too_large']],
    [
      'baggage of more than 180 members',
      { ...VALID, baggage: Array.from({ length: 181 }, (_, i) => `k${i}=v`).join(',') },
      ['baggage', 'too_large'],
    ],
    ['invalid baggage', { ...VALID, baggage: 'no-equals-sign' }, ['baggage', 'invalid']],
    [
      'an invalid correlation ID',
      { ...VALID, 'x-correlation-id': 'bad id\n' },
      ['x-correlation-id', 'invalid'],
    ],
    [
      'an oversized correlation ID',
      { ...VALID, 'x-correlation-id': 'a'.repeat(200) },
      ['x-correlation-id', 'too_large'],
    ],
  ])('reports %s by header and reason', (_, carrier, expected) => {
    expect(dropped(carrier)).toEqual([expected]);
  });

  it('reports an invalid x-request-id read in place of an invalid correlation header', () => {
    expect(dropped({ 'x-correlation-id': '<script>', 'x-request-id': '<img>' })).toEqual([
      ['x-correlation-id', 'invalid'],
      ['x-request-id', 'invalid'],
    ]);
  });

  it('rejects an onDropped that is not a function', () => {
    expect(() => keelPropagator({ onDropped: 'count' as never })).toThrow(
      'keelPropagator: option onDropped must be a function, received "count"',
    );
  });
});
