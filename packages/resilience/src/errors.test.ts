import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  BulkheadFullError,
  CancelledError,
  CircuitOpenError,
  isBulkheadFullError,
  isCancelledError,
  isCircuitOpenError,
  isKeelError,
  isLocalRejection,
  isRateLimitedError,
  isRetryableByDefault,
  isTimeoutError,
  KeelError,
  RateLimitedError,
  TimeoutError,
} from './index.js';

const guards = {
  KEEL_ERR_TIMEOUT: isTimeoutError,
  KEEL_ERR_CANCELLED: isCancelledError,
  KEEL_ERR_CIRCUIT_OPEN: isCircuitOpenError,
  KEEL_ERR_BULKHEAD_FULL: isBulkheadFullError,
  KEEL_ERR_RATE_LIMITED: isRateLimitedError,
} as const;

const samples: [string, KeelError][] = [
  ['TimeoutError', new TimeoutError(100, 'attempt', 'orders')],
  ['CancelledError', new CancelledError('cancelled by the caller', 'orders')],
  ['CircuitOpenError', new CircuitOpenError('open', 250, 'orders')],
  ['BulkheadFullError', new BulkheadFullError(4, 2, 'orders')],
  ['RateLimitedError', new RateLimitedError(500, 'orders')],
];

describe('error classes', () => {
  it.each(samples)('%s is an Error and a KeelError with its own name', (name, error) => {
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(KeelError);
    expect(error.name).toBe(name);
  });

  it.each(samples)('%s is recognised by its own guard and by no other', (_name, error) => {
    for (const [code, guard] of Object.entries(guards)) {
      expect(guard(error)).toBe(code === error.code);
    }
    expect(isKeelError(error)).toBe(true);
  });

  it.each(samples)('%s names the pipeline that rejected the call', (_name, error) => {
    expect(error.pipeline).toBe('orders');
    expect(error.message).toContain('"orders"');
  });

  it('TimeoutError says which bound ran out and how long it was', () => {
    const error = new TimeoutError(1500, 'total');
    expect(error.scope).toBe('total');
    expect(error.timeoutMs).toBe(1500);
    expect(error.message).toContain('1500 ms');
  });

  it('CircuitOpenError and RateLimitedError carry their retry-after hints', () => {
    expect(new CircuitOpenError('half-open', 800).retryAfterMs).toBe(800);
    expect(new RateLimitedError(120).retryAfterMs).toBe(120);
  });

  it('CancelledError keeps the abort reason as its cause', () => {
    const reason = new Error('user left');
    expect(new CancelledError('cancelled', 'orders', reason).cause).toBe(reason);
  });
});

describe('error guards', () => {
  it('reject plain errors and non-objects', () => {
    for (const value of [
      new Error('x'),
      null,
      undefined,
      'KEEL_ERR_TIMEOUT',
      42,
      { code: 'KEEL_ERR_TIMEOUT' },
    ]) {
      expect(isKeelError(value)).toBe(false);
      expect(isTimeoutError(value)).toBe(false);
    }
  });

  it('recognise an error from another copy of the package or another realm by its Symbol.for brand', () => {
    const foreign: unknown = runInNewContext(
      `const e = new Error('attempt timed out'); e[Symbol.for('keel.resilience.error')] = true; e.code = 'KEEL_ERR_TIMEOUT'; e`,
    );
    expect(foreign).not.toBeInstanceOf(Error);
    expect(foreign).not.toBeInstanceOf(TimeoutError);
    expect(isKeelError(foreign)).toBe(true);
    expect(isTimeoutError(foreign)).toBe(true);
    expect(isCancelledError(foreign)).toBe(false);
  });
});

describe('isLocalRejection', () => {
  it.each([
    ['a timeout', new TimeoutError(10, 'attempt'), false],
    ['a cancellation', new CancelledError('x'), true],
    ['an open circuit', new CircuitOpenError('open', 10), true],
    ['a full bulkhead', new BulkheadFullError(1, 0), true],
    ['a rate limit', new RateLimitedError(10), true],
    ['a plain error', new Error('boom'), false],
  ])('classifies %s as local: %s', (_what, error, local) => {
    expect(isLocalRejection(error)).toBe(local);
  });
});

describe('isRetryableByDefault', () => {
  it.each([
    ['a dependency error', new Error('ECONNRESET'), true],
    ['a timeout', new TimeoutError(10, 'attempt'), true],
    ['a cancellation', new CancelledError('x'), false],
    ['an open circuit', new CircuitOpenError('open', 10), false],
    ['a full bulkhead', new BulkheadFullError(1, 0), false],
    ['a rate limit', new RateLimitedError(10), false],
  ])('retries %s: %s', (_what, error, retryable) => {
    expect(isRetryableByDefault(error)).toBe(retryable);
  });
});
