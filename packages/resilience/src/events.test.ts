import { describe, expectTypeOf, it } from 'vitest';
import type {
  BulkheadFullError,
  CircuitOpenError,
  Pipeline,
  RateLimitedError,
  ResilienceEvent,
  ResilienceEventOf,
  RetryEvent,
  TimeoutError,
} from './index.js';

// Type-level only: what a user's onEvent handler sees once it narrows on `kind`.
type Listener = Parameters<Pipeline['onEvent']>[0];
type Handled = Parameters<Listener>[0];

describe('ResilienceEvent', () => {
  it('is what an onEvent listener receives', () => {
    expectTypeOf<Handled>().toEqualTypeOf<ResilienceEvent>();
  });

  it('gives a retry event a delay that is always there', () => {
    const handle = (e: ResilienceEvent) => {
      if (e.kind === 'retry') {
        expectTypeOf(e.delayMs).toEqualTypeOf<number>();
        expectTypeOf(e.policy).toEqualTypeOf<'retry'>();
        expectTypeOf(e).toEqualTypeOf<RetryEvent>();
      }
    };
    expectTypeOf(handle).toBeFunction();
  });

  it('gives a break event the length of the break, and a timeout event its TimeoutError', () => {
    const handle = (e: ResilienceEvent) => {
      if (e.kind === 'break') expectTypeOf(e.delayMs).toEqualTypeOf<number>();
      if (e.kind === 'timeout') {
        expectTypeOf(e.error).toEqualTypeOf<TimeoutError>();
        expectTypeOf(e.policy).toEqualTypeOf<'timeout' | 'total-timeout' | 'pipeline'>();
      }
    };
    expectTypeOf(handle).toBeFunction();
  });

  it('types the error of a rejection by the policy that refused', () => {
    const handle = (e: ResilienceEvent) => {
      if (e.kind !== 'reject') return;
      expectTypeOf(e.error).toEqualTypeOf<CircuitOpenError | BulkheadFullError | RateLimitedError>();
      if (e.policy === 'circuit-breaker') expectTypeOf(e.error).toEqualTypeOf<CircuitOpenError>();
      if (e.policy === 'bulkhead') expectTypeOf(e.error).toEqualTypeOf<BulkheadFullError>();
      if (e.policy === 'rate-limit') expectTypeOf(e.error).toEqualTypeOf<RateLimitedError>();
    };
    expectTypeOf(handle).toBeFunction();
  });

  it('says an event without a delay or an error has none', () => {
    expectTypeOf<ResilienceEventOf<'success'>['error']>().toEqualTypeOf<undefined>();
    expectTypeOf<ResilienceEventOf<'queued'>['delayMs']>().toEqualTypeOf<undefined>();
    expectTypeOf<ResilienceEventOf<'failure'>['error']>().toEqualTypeOf<unknown>();
  });

  it('still lets code that handles any event read its optional fields', () => {
    expectTypeOf<ResilienceEvent['delayMs']>().toEqualTypeOf<number | undefined>();
    expectTypeOf<ResilienceEvent['error']>().toEqualTypeOf<unknown>();
  });
});
