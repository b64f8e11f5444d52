import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type BreakEvent,
  type CircuitBreakerOptions,
  circuitBreaker,
  compose,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  type ResilienceEvent,
} from './index.js';

const made: Pipeline[] = [];

function make(options: PipelineOptions | ReturnType<typeof compose>): Pipeline {
  const p = pipeline('slow-test', options);
  made.push(p);
  return p;
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.useRealTimers();
});

const slowRatio: CircuitBreakerOptions = {
  minimumThroughput: 4,
  samplingDurationMs: 10_000,
  breakDurationMs: 1_000,
  slowCallDurationThresholdMs: 100,
  slowCallRateThreshold: 0.5,
};

/** Runs one call that settles after `ms` (fake time), with `value` or, when it is an Error, rejecting with it. */
async function call(p: Pipeline, ms: number, value: unknown = 'ok'): Promise<unknown> {
  const settled = p
    .execute(
      () =>
        new Promise((resolve, reject) =>
          setTimeout(() => (value instanceof Error ? reject(value) : resolve(value)), ms),
        ),
    )
    .catch((e: unknown) => e);
  await vi.advanceTimersByTimeAsync(ms);
  return settled;
}

type Build = (cb: CircuitBreakerOptions) => Pipeline;

// Every path an attempt can take to the breaker: fused without and with an attempt timeout (and a listener),
// and a composed chain.
const variants: [string, Build][] = [
  [
    'standard pipeline',
    (cb) => make({ timeout: false, totalTimeout: false, retry: false, circuitBreaker: cb }),
  ],
  [
    'standard pipeline with an attempt timeout and a listener',
    (cb) => {
      const p = make({ timeout: 5_000, retry: false, circuitBreaker: cb });
      p.onEvent(() => undefined);
      return p;
    },
  ],
  ['composed pipeline', (cb) => make(compose(circuitBreaker(cb)))],
];

describe.each(variants)('slow-call detection, %s', (_, build) => {
  it('opens when more than slowCallRateThreshold of the attempts were slow, though every one succeeded', async () => {
    const p = build(slowRatio);
    await call(p, 10);
    await call(p, 150);
    await call(p, 150);
    expect(p.circuitState).toBe('closed'); // 3 attempts: below the throughput
    expect(await call(p, 150)).toBe('ok'); // the slow call itself still answers
    expect(p.circuitState).toBe('open'); // 3 of 4 slow
  });

  it('stays closed at exactly slowCallRateThreshold', async () => {
    const p = build(slowRatio);
    await call(p, 10);
    await call(p, 10);
    await call(p, 150);
    await call(p, 150);
    expect(p.circuitState).toBe('closed');
  });

  it('stays closed below minimumThroughput, however slow the calls', async () => {
    const p = build({ ...slowRatio, minimumThroughput: 10 });
    for (let i = 0; i < 9; i++) await call(p, 1_000);
    expect(p.circuitState).toBe('closed');
  });

  it('does not count an attempt that took exactly the threshold as slow', async () => {
    const p = build(slowRatio);
    for (let i = 0; i < 6; i++) await call(p, 100);
    expect(p.circuitState).toBe('closed');
  });

  it('ignores slow calls when slowCallDurationThresholdMs is not set', async () => {
    const p = build({ minimumThroughput: 4, samplingDurationMs: 10_000 });
    for (let i = 0; i < 6; i++) await call(p, 4_000);
    expect(p.circuitState).toBe('closed');
  });

  it('reopens when a probe succeeds but slowly', async () => {
    const p = build(slowRatio);
    for (let i = 0; i < 4; i++) await call(p, 150);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(p.circuitState).toBe('half-open');
    await call(p, 150);
    expect(p.circuitState).toBe('open');
    await vi.advanceTimersByTimeAsync(1_000);
    await call(p, 10);
    expect(p.circuitState).toBe('closed');
  });
});

describe('slow-call detection, counting', () => {
  it('counts a slow failure as slow and failed', async () => {
    // Failure ratio 0.9 cannot trip on 2 failures of 4; the slow-call ratio 0.4 can.
    const p = make({
      timeout: false,
      totalTimeout: false,
      retry: false,
      circuitBreaker: { ...slowRatio, failureRatio: 0.9, slowCallRateThreshold: 0.4 },
    });
    await call(p, 10);
    await call(p, 10);
    await call(p, 150, new Error('slow and down'));
    expect(p.circuitState).toBe('closed');
    await call(p, 150, new Error('slow and down'));
    expect(p.circuitState).toBe('open');
  });

  it('measures the attempt from when it left the bulkhead queue, not from admission', async () => {
    const p = make({
      timeout: false,
      totalTimeout: false,
      retry: false,
      circuitBreaker: slowRatio,
      bulkhead: { maxConcurrent: 1, maxQueue: 10 },
    });
    // Four calls of 60 ms each, run one after the other: the last waits 180 ms in the queue.
    const calls = Array.from({ length: 4 }, () =>
      p.execute(() => new Promise((resolve) => setTimeout(() => resolve('ok'), 60))),
    );
    await vi.advanceTimersByTimeAsync(240);
    await Promise.all(calls);
    expect(p.circuitState).toBe('closed');
  });

  it('forgets slow calls older than samplingDurationMs', async () => {
    const p = make({ timeout: false, totalTimeout: false, retry: false, circuitBreaker: slowRatio });
    for (let i = 0; i < 3; i++) await call(p, 150);
    await vi.advanceTimersByTimeAsync(60_000);
    await call(p, 150);
    expect(p.circuitState).toBe('closed'); // only 1 attempt in the window
  });
});

describe('slow-call detection, events', () => {
  function breaks(p: Pipeline): BreakEvent[] {
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    return events as BreakEvent[];
  }

  it('says a break was caused by slow calls, with no error when a slow success opened it', async () => {
    const p = make({ timeout: false, totalTimeout: false, retry: false, circuitBreaker: slowRatio });
    const events = breaks(p);
    for (let i = 0; i < 4; i++) await call(p, 150);
    const event = events.find((e) => e.kind === 'break');
    expect(event).toMatchObject({ policy: 'circuit-breaker', reason: 'slow-calls', delayMs: 1_000 });
    expect(event?.error).toBeUndefined();
  });

  it('says a break was caused by failures, with the failure', async () => {
    const p = make({ timeout: false, totalTimeout: false, retry: false, circuitBreaker: slowRatio });
    const events = breaks(p);
    const failure = new Error('down');
    for (let i = 0; i < 4; i++) await call(p, 10, failure);
    expect(events.find((e) => e.kind === 'break')).toMatchObject({ reason: 'failures', error: failure });
  });

  it('says failures in consecutive mode', async () => {
    const p = make({
      timeout: false,
      totalTimeout: false,
      retry: false,
      circuitBreaker: { consecutiveFailures: 1 },
    });
    const events = breaks(p);
    await call(p, 10, new Error('down'));
    expect(events.find((e) => e.kind === 'break')?.reason).toBe('failures');
  });
});

describe('slow-call detection, options', () => {
  it.each([
    [
      { slowCallDurationThresholdMs: 0 },
      RangeError,
      /option slowCallDurationThresholdMs must be an integer from 1 to 2147483647, received 0/,
    ],
    [
      { slowCallDurationThresholdMs: 1.5 },
      RangeError,
      /option slowCallDurationThresholdMs must be an integer .* received 1.5/,
    ],
    [
      { slowCallDurationThresholdMs: '100' },
      TypeError,
      /option slowCallDurationThresholdMs must be an integer .* received "100"/,
    ],
    [
      { slowCallDurationThresholdMs: 100, slowCallRateThreshold: 0 },
      RangeError,
      /option slowCallRateThreshold must be a number from 0.001 to 0.999, received 0/,
    ],
    [
      { slowCallDurationThresholdMs: 100, slowCallRateThreshold: 1 },
      RangeError,
      /option slowCallRateThreshold must be a number from 0.001 to 0.999, received 1/,
    ],
    [
      { slowCallRateThreshold: 0.5 },
      TypeError,
      /option slowCallRateThreshold needs slowCallDurationThresholdMs/,
    ],
    [
      { consecutiveFailures: 3, slowCallDurationThresholdMs: 100 },
      TypeError,
      /option consecutiveFailures cannot be combined with .*slowCall/,
    ],
  ])('rejects %o at construction', (options, type, message) => {
    expect(() => circuitBreaker(options as CircuitBreakerOptions)).toThrow(type);
    expect(() => circuitBreaker(options as CircuitBreakerOptions)).toThrow(message);
  });

  it('names the pipeline option when a pipeline is given a bad value', () => {
    expect(() => pipeline('p', { circuitBreaker: { slowCallDurationThresholdMs: -1 } })).toThrow(
      /option circuitBreaker\.slowCallDurationThresholdMs must be an integer from 1/,
    );
  });

  it('rejects a threshold at or above the attempt timeout, which no successful attempt could exceed', () => {
    expect(() =>
      pipeline('p', { timeout: 1_000, circuitBreaker: { slowCallDurationThresholdMs: 1_000 } }),
    ).toThrow(
      /option circuitBreaker\.slowCallDurationThresholdMs must be less than timeout \(1000 ms\), received 1000/,
    );
  });

  it('exposes the threshold on the policy', () => {
    expect(circuitBreaker({ slowCallDurationThresholdMs: 250 }).slowCallDurationThresholdMs).toBe(250);
    expect(circuitBreaker().slowCallDurationThresholdMs).toBeUndefined();
  });
});
