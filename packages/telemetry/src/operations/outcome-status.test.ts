import {
  BulkheadFullError,
  CancelledError,
  CircuitOpenError,
  RateLimitedError,
  TimeoutError,
} from '@keel/resilience';
import { describe, expect, it } from 'vitest';
import { outcomeStatus } from './outcome-status.js';

describe('outcomeStatus', () => {
  it.each([
    ['an attempt timeout', new TimeoutError(2_000, 'attempt', 'p'), 504, 'DEADLINE_EXCEEDED', undefined],
    ['a spent deadline', new TimeoutError(10, 'deadline'), 504, 'DEADLINE_EXCEEDED', undefined],
    ['a cancellation', new CancelledError('aborted', 'p'), 499, 'CANCELLED', undefined],
    ['an open circuit', new CircuitOpenError('open', 4_200, 'p'), 503, 'UNAVAILABLE', 5],
    ['a half-open circuit', new CircuitOpenError('half-open', 10, 'p'), 503, 'UNAVAILABLE', 1],
    ['an isolated circuit', new CircuitOpenError('isolated', undefined, 'p'), 503, 'UNAVAILABLE', undefined],
    ['a full bulkhead', new BulkheadFullError(4, 8, 'p'), 503, 'RESOURCE_EXHAUSTED', 1],
    ['a rate limit', new RateLimitedError(1_500, 'p'), 429, 'RESOURCE_EXHAUSTED', 2],
  ])('maps %s to %i / %s with Retry-After %s', (_what, error, http, grpc, retryAfter) => {
    expect(outcomeStatus(error)).toEqual({
      httpStatus: http,
      grpcStatus: grpc,
      retryAfterSeconds: retryAfter,
    });
  });

  it.each([
    ['a plain error', new Error('boom')],
    ['a system error', Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })],
    ['a string', 'nope'],
    ['undefined', undefined],
  ])('leaves %s to the application', (_what, error) => {
    expect(outcomeStatus(error)).toBeUndefined();
  });
});
