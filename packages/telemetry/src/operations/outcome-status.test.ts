import {
  BulkheadFullError,
  CancelledError,
  CircuitOpenError,
  RateLimitedError,
  TimeoutError,
} from '@keel/resilience';
import { describe, expect, it } from 'vitest';
import { OUTCOME_STATUS, outcomeStatus } from './outcome-status.js';

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
      code: error.code,
      httpStatus: http,
      grpcStatus: grpc,
      message: expect.any(String),
      retryAfterSeconds: retryAfter,
    });
  });

  const refused = () =>
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  const statusError = (status: number) =>
    Object.assign(new Error(`answered ${status}`), { code: 'KEEL_ERR_HTTP_STATUS', status });

  it.each([
    ['a refused connection', refused()],
    ['fetch’s TypeError caused by a refused connection', new TypeError('fetch failed', { cause: refused() })],
    ['refused connections to every address', new AggregateError([refused(), refused()], 'all failed')],
    ['a reset connection', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['an unreachable host', Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' })],
    ['undici’s socket error', Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })],
    ['a 503 the client threw', statusError(503)],
    ['a 500 the client threw', statusError(500)],
    ['a 429 the client threw', statusError(429)],
  ])('maps %s to 502 / UNAVAILABLE as KEEL_ERR_DOWNSTREAM_FAILED', (_what, error) => {
    expect(outcomeStatus(error)).toEqual({
      code: 'KEEL_ERR_DOWNSTREAM_FAILED',
      httpStatus: 502,
      grpcStatus: 'UNAVAILABLE',
      message: 'A dependency could not be reached or kept failing.',
      retryAfterSeconds: undefined,
    });
  });

  it('has a fixed message for every outcome, naming nothing internal', () => {
    for (const row of Object.values(OUTCOME_STATUS)) expect(row.message).toMatch(/^[A-Z][a-z ;,.]+$/);
  });

  it.each([
    ['a plain error', new Error('boom')],
    ['a file system error', Object.assign(new Error('no such file'), { code: 'ENOENT' })],
    ['a 404 the client threw', statusError(404)],
    ['a string', 'nope'],
    ['undefined', undefined],
  ])('leaves %s to the application', (_what, error) => {
    expect(outcomeStatus(error)).toBeUndefined();
  });
});
