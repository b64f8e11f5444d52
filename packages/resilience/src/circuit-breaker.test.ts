import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BulkheadFullError,
  type BulkheadOptions,
  bulkhead,
  type CircuitBreakerOptions,
  CircuitOpenError,
  circuitBreaker,
  compose,
  type ExecuteContext,
  isCircuitOpenError,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  RateLimitedError,
  type ResilienceEvent,
  rateLimit,
  runWithDeadline,
} from './index.js';
import { deferred, track } from './testing/support.js';

const made: Pipeline[] = [];

function make(options: PipelineOptions | ReturnType<typeof compose>, name = 'breaker-test'): Pipeline {
  const p = pipeline(name, options);
  made.push(p);
  return p;
}

/** Only a breaker: no retry or timeouts, so every call is exactly one attempt. */
const breaker = (options: CircuitBreakerOptions) =>
  make({ timeout: false, totalTimeout: false, retry: false, circuitBreaker: options });

const fail = () => Promise.reject(new Error('dependency down'));
/** Like real I/O given the signal: never settles on its own, rejects with the signal's reason on abort. */
const untilAborted = ({ signal }: ExecuteContext) =>
  new Promise<never>((_, reject) =>
    signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
  );
const succeed = () => Promise.resolve('ok');

async function run(p: Pipeline, fn: () => Promise<unknown>): Promise<void> {
  await p.execute(fn).catch(() => undefined);
}

/** Opens a consecutive-mode breaker by failing `n` calls. */
async function trip(p: Pipeline, n = 1): Promise<void> {
  for (let i = 0; i < n; i++) await run(p, fail);
  expect(p.circuitState).toBe('open');
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.useRealTimers();
});

type Build = (breakerOptions: CircuitBreakerOptions, bulkheadOptions?: BulkheadOptions) => Pipeline;

/** The same breaker (and bulkhead) on both paths a pipeline can take: the standard (fused) one and a composed chain. */
const variants: [string, Build][] = [
  [
    'standard pipeline',
    (cb, bh) =>
      make({ timeout: false, totalTimeout: false, retry: false, circuitBreaker: cb, bulkhead: bh ?? false }),
  ],
  [
    'composed pipeline',
    (cb, bh) =>
      make(bh === undefined ? compose(circuitBreaker(cb)) : compose(circuitBreaker(cb), bulkhead(bh))),
  ],
];

describe.each(variants)(
  'DESIGN §4 guarantee 4 (%s): half-open admits only the probes and rejects the rest at once',
  (_v, build) => {
    it('rejects other calls at once with CircuitOpenError and a retry-after hint while the probe is in flight', async () => {
      const p = build({ consecutiveFailures: 1, breakDurationMs: 1_000 });
      await trip(p);
      await vi.advanceTimersByTimeAsync(1_000);
      const probe = deferred<string>();
      const probeResult = track(p.execute(() => probe.promise));

      const other = vi.fn(succeed);
      const result = track(p.execute(other));
      await vi.advanceTimersByTimeAsync(0); // no time passes: the probe is still in flight

      expect(probeResult.settled).toBe(false);
      expect(result.settled).toBe(true);
      expect(result.error).toBeInstanceOf(CircuitOpenError);
      expect((result.error as CircuitOpenError).state).toBe('half-open');
      expect((result.error as CircuitOpenError).retryAfterMs).toBeGreaterThan(0);
      expect(other).not.toHaveBeenCalled();
      probe.resolve('ok');
    });

    it('admits exactly 2 probes when halfOpenProbes is 2', async () => {
      const p = build({ consecutiveFailures: 1, breakDurationMs: 1_000, halfOpenProbes: 2 });
      await trip(p);
      await vi.advanceTimersByTimeAsync(1_000);
      const gate = deferred<string>();
      const fn = vi.fn(() => gate.promise);

      const results = [1, 2, 3, 4].map(() => track(p.execute(fn)));
      await vi.advanceTimersByTimeAsync(0);

      expect(fn).toHaveBeenCalledTimes(2);
      expect(results.map((r) => r.settled)).toEqual([false, false, true, true]);
      expect(isCircuitOpenError(results[2]?.error)).toBe(true);
      expect(isCircuitOpenError(results[3]?.error)).toBe(true);
      gate.resolve('ok');
    });

    it('frees the probe slot when the probe is cancelled by its caller', async () => {
      const p = build({ consecutiveFailures: 1, breakDurationMs: 1_000 });
      await trip(p);
      await vi.advanceTimersByTimeAsync(1_000);
      const controller = new AbortController();
      track(p.execute(untilAborted, { signal: controller.signal }));
      controller.abort();
      await vi.advanceTimersByTimeAsync(0);

      await expect(p.execute(succeed)).resolves.toBe('ok');
      expect(p.circuitState).toBe('closed');
    });
  },
);

describe.each(variants)(
  'DESIGN §4 guarantee 6 (%s): local rejections never count as dependency failures',
  (_v, build) => {
    it('stays closed when a full bulkhead rejects calls, even with consecutiveFailures 1', async () => {
      const p = build({ consecutiveFailures: 1 }, { maxConcurrent: 1 });
      const gate = deferred<string>();
      const running = track(p.execute(() => gate.promise));

      const rejected = [1, 2, 3].map(() => track(p.execute(succeed)));
      await vi.advanceTimersByTimeAsync(0);

      expect(rejected.every((r) => r.error instanceof BulkheadFullError)).toBe(true);
      expect(p.circuitState).toBe('closed');
      gate.resolve('ok');
      await vi.advanceTimersByTimeAsync(0);
      expect(running.value).toBe('ok');
      await expect(p.execute(succeed)).resolves.toBe('ok');
    });

    it('stays closed when a caller cancels a call in flight, even with consecutiveFailures 1', async () => {
      const p = build({ consecutiveFailures: 1 });
      const controller = new AbortController();
      const result = track(p.execute(untilAborted, { signal: controller.signal }));
      controller.abort();
      await vi.advanceTimersByTimeAsync(0);

      expect(result.settled).toBe(true);
      expect(p.circuitState).toBe('closed');
    });

    it('stays closed when a call times out while still queued in the bulkhead (it never reached the dependency)', async () => {
      const p = build({ consecutiveFailures: 1 }, { maxConcurrent: 1, maxQueue: 1 });
      const gate = deferred<string>();
      const running = track(p.execute(() => gate.promise));
      const queuedFn = vi.fn(succeed);
      const queued = track(runWithDeadline(300, () => p.execute(queuedFn)));

      await vi.advanceTimersByTimeAsync(300);
      expect(queued.settled).toBe(true);
      expect(queuedFn).not.toHaveBeenCalled();

      expect(p.circuitState).toBe('closed');
      gate.resolve('ok');
      await vi.advanceTimersByTimeAsync(0);
      expect(running.value).toBe('ok');
    });
  },
);

describe('DESIGN §4 guarantee 6: rate-limit rejections never count as dependency failures', () => {
  it('stays closed when a rate limiter inside the breaker rejects calls, even with consecutiveFailures 1', async () => {
    const p = make(
      compose(circuitBreaker({ consecutiveFailures: 1 }), rateLimit({ limit: 1, intervalMs: 60_000 })),
    );
    await expect(p.execute(succeed)).resolves.toBe('ok');

    const results = [1, 2, 3].map(() => track(p.execute(succeed)));
    await vi.advanceTimersByTimeAsync(0);

    expect(results.every((r) => r.error instanceof RateLimitedError)).toBe(true);
    expect(p.circuitState).toBe('closed');
  });

  it('stays closed when a pipeline’s own rate limit rejects calls, even with consecutiveFailures 1', async () => {
    const p = make({
      timeout: false,
      totalTimeout: false,
      retry: false,
      circuitBreaker: { consecutiveFailures: 1 },
      rateLimit: { limit: 1, intervalMs: 60_000 },
    });
    await expect(p.execute(succeed)).resolves.toBe('ok');

    const results = [1, 2, 3].map(() => track(p.execute(succeed)));
    await vi.advanceTimersByTimeAsync(0);

    expect(results.every((r) => r.error instanceof RateLimitedError)).toBe(true);
    expect(p.circuitState).toBe('closed');
  });
});

describe('circuit breaker, consecutive mode', () => {
  it('opens after consecutiveFailures failures in a row', async () => {
    const p = breaker({ consecutiveFailures: 3 });
    await run(p, fail);
    await run(p, fail);
    expect(p.circuitState).toBe('closed');
    await run(p, fail);
    expect(p.circuitState).toBe('open');
  });

  it('starts counting again after a success', async () => {
    const p = breaker({ consecutiveFailures: 2 });
    await run(p, fail);
    await run(p, succeed);
    await run(p, fail);
    expect(p.circuitState).toBe('closed');
  });

  it('counts a timed-out attempt as a failure of the dependency', async () => {
    const p = make({
      timeout: 100,
      totalTimeout: false,
      retry: false,
      circuitBreaker: { consecutiveFailures: 1 },
    });
    const result = track(p.execute(() => new Promise(() => {})));
    await vi.advanceTimersByTimeAsync(100);

    expect(result.settled).toBe(true);
    expect(p.circuitState).toBe('open');
  });

  it('rejects calls at once while open, without calling fn, with the time left as retryAfterMs', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 5_000 });
    await trip(p);
    await vi.advanceTimersByTimeAsync(2_000);
    const fn = vi.fn(succeed);

    const error = await p.execute(fn).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CircuitOpenError);
    expect((error as CircuitOpenError).code).toBe('KEEL_ERR_CIRCUIT_OPEN');
    expect((error as CircuitOpenError).state).toBe('open');
    expect((error as CircuitOpenError).retryAfterMs).toBe(3_000);
    expect(fn).not.toHaveBeenCalled();
  });

  it('reads half-open once the break has elapsed', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000 });
    await trip(p);
    await vi.advanceTimersByTimeAsync(999);
    expect(p.circuitState).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(p.circuitState).toBe('half-open');
  });

  it('keeps no timer running while open', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000 });
    await trip(p);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('closes after a successful probe', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000 });
    await trip(p);
    await vi.advanceTimersByTimeAsync(1_000);

    await expect(p.execute(succeed)).resolves.toBe('ok');
    expect(p.circuitState).toBe('closed');
  });

  it('reopens after a failed probe', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000 });
    await trip(p);
    await vi.advanceTimersByTimeAsync(1_000);

    await run(p, fail);
    expect(p.circuitState).toBe('open');
    await expect(p.execute(succeed)).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('needs halfOpenProbes successful probes to close', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000, halfOpenProbes: 2 });
    await trip(p);
    await vi.advanceTimersByTimeAsync(1_000);

    await run(p, succeed);
    expect(p.circuitState).toBe('half-open');
    await run(p, succeed);
    expect(p.circuitState).toBe('closed');
  });

  it('doubles the break after each failed probe, up to maxBreakDurationMs', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000, maxBreakDurationMs: 4_000 });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    await trip(p);
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(10_000);
      await run(p, fail);
    }

    expect(events.filter((e) => e.kind === 'break').map((e) => e.delayMs)).toEqual([
      1_000, 2_000, 4_000, 4_000,
    ]);
  });

  it('keeps a doubled break open for its whole duration', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000, maxBreakDurationMs: 4_000 });
    await trip(p);
    await vi.advanceTimersByTimeAsync(1_000);
    await run(p, fail); // break is now 2 s

    await vi.advanceTimersByTimeAsync(1_999);
    expect(p.circuitState).toBe('open');
    await vi.advanceTimersByTimeAsync(1);
    expect(p.circuitState).toBe('half-open');
  });

  it('returns to the base break once a probe succeeds', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000, maxBreakDurationMs: 4_000 });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    await trip(p);
    await vi.advanceTimersByTimeAsync(1_000);
    await run(p, fail); // 2 s
    await vi.advanceTimersByTimeAsync(2_000);
    await run(p, succeed); // closes
    await run(p, fail); // opens again

    expect(events.filter((e) => e.kind === 'break').map((e) => e.delayMs)).toEqual([1_000, 2_000, 1_000]);
  });

  it('does not double the break unless maxBreakDurationMs allows it', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000 });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    await trip(p);
    await vi.advanceTimersByTimeAsync(1_000);
    await run(p, fail);

    expect(events.filter((e) => e.kind === 'break').map((e) => e.delayMs)).toEqual([1_000, 1_000]);
  });

  it('emits break, half-open and reset with the pipeline and policy', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000 });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    const failure = new Error('down');
    await run(p, () => Promise.reject(failure));
    await vi.advanceTimersByTimeAsync(1_000);
    await run(p, succeed);

    const transitions = events.filter((e) => e.policy === 'circuit-breaker');
    expect(transitions.map((e) => e.kind)).toEqual(['break', 'half-open', 'reset']);
    expect(transitions[0]).toMatchObject({
      pipeline: 'breaker-test',
      error: failure,
      delayMs: 1_000,
      attempt: 1,
    });
  });

  it('emits reject with the CircuitOpenError for each refused call', async () => {
    const p = breaker({ consecutiveFailures: 1 });
    const events: ResilienceEvent[] = [];
    await trip(p);
    p.onEvent((e) => events.push(e));
    const error = await p.execute(succeed).catch((e: unknown) => e);

    expect(events.find((e) => e.kind === 'reject')).toMatchObject({ policy: 'circuit-breaker', error });
  });
});

describe('circuit breaker, ratio mode', () => {
  const ratio = {
    failureRatio: 0.5,
    minimumThroughput: 4,
    samplingDurationMs: 10_000,
    breakDurationMs: 1_000,
  };

  it('opens when more than failureRatio of at least minimumThroughput calls failed', async () => {
    const p = breaker(ratio);
    await run(p, succeed);
    await run(p, fail);
    await run(p, fail);
    expect(p.circuitState).toBe('closed'); // 3 calls: below the throughput
    await run(p, fail);
    expect(p.circuitState).toBe('open'); // 3 of 4 failed
  });

  it('stays closed at exactly failureRatio', async () => {
    const p = breaker(ratio);
    await run(p, succeed);
    await run(p, succeed);
    await run(p, fail);
    await run(p, fail);
    expect(p.circuitState).toBe('closed');
  });

  it('stays closed below minimumThroughput, however many calls fail', async () => {
    const p = breaker({ ...ratio, minimumThroughput: 10 });
    for (let i = 0; i < 9; i++) await run(p, fail);
    expect(p.circuitState).toBe('closed');
  });

  it('forgets failures older than samplingDurationMs', async () => {
    const p = breaker(ratio);
    await run(p, fail);
    await run(p, fail);
    await run(p, fail);
    await vi.advanceTimersByTimeAsync(60_000); // long after the window

    await run(p, fail);
    expect(p.circuitState).toBe('closed'); // only 1 call in the window: below the throughput
  });

  it('defaults to more than 50 % failed attempts over 30 s, once the window holds 20', async () => {
    const p = make({ timeout: false, totalTimeout: false, retry: false });
    for (let i = 0; i < 9; i++) await run(p, succeed);
    for (let i = 0; i < 10; i++) await run(p, fail);
    expect(p.circuitState).toBe('closed'); // 19 attempts: too few to judge
    await run(p, fail);
    expect(p.circuitState).toBe('open'); // 11 of 20 failed
  });

  it('stays closed by default for a dependency failing 40 % of the time', async () => {
    const p = make({ timeout: false, totalTimeout: false, retry: false });
    for (let i = 0; i < 500; i++) await run(p, i % 5 < 2 ? fail : succeed);
    expect(p.circuitState).toBe('closed');
  });

  it('rejects combining consecutiveFailures with the ratio options', () => {
    expect(() => circuitBreaker({ consecutiveFailures: 3, failureRatio: 0.2 })).toThrow(TypeError);
    expect(() => circuitBreaker({ consecutiveFailures: 3, failureRatio: 0.2 })).toThrow(
      /consecutiveFailures.*failureRatio/,
    );
  });
});

describe('circuit breaker, manual control and failureOn', () => {
  it('isolate() holds the circuit open until reset(), rejecting with state isolated', async () => {
    const p = breaker({ consecutiveFailures: 1, breakDurationMs: 1_000 });
    p.isolate();
    await vi.advanceTimersByTimeAsync(600_000);
    const fn = vi.fn(succeed);

    const error = await p.execute(fn).catch((e: unknown) => e);

    expect(p.circuitState).toBe('isolated');
    expect((error as CircuitOpenError).state).toBe('isolated');
    expect(fn).not.toHaveBeenCalled();
  });

  it('reset() closes an isolated circuit', async () => {
    const p = breaker({ consecutiveFailures: 1 });
    p.isolate();
    p.reset();

    expect(p.circuitState).toBe('closed');
    await expect(p.execute(succeed)).resolves.toBe('ok');
  });

  it('reset() closes an open circuit and forgets its failures', async () => {
    const p = breaker({ consecutiveFailures: 2 });
    await run(p, fail);
    await run(p, fail);
    p.reset();
    await run(p, fail);

    expect(p.circuitState).toBe('closed');
  });

  it('emits isolate and reset events for manual control', () => {
    const p = breaker({ consecutiveFailures: 1 });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    p.isolate();
    p.reset();

    expect(events).toEqual([
      { pipeline: 'breaker-test', policy: 'circuit-breaker', kind: 'isolate', attempt: 0, durationS: 0 },
      { pipeline: 'breaker-test', policy: 'circuit-breaker', kind: 'reset', attempt: 0, durationS: 0 },
    ]);
  });

  it('reads circuitState as undefined when the pipeline has no breaker', () => {
    const p = make({ circuitBreaker: false });
    expect(p.circuitState).toBeUndefined();
  });

  it('counts a result as a failure when failureOn says so', async () => {
    const p = breaker({ consecutiveFailures: 1, failureOn: (o) => o.ok && o.result === 503 });
    await p.execute(() => Promise.resolve(503));
    expect(p.circuitState).toBe('open');
  });

  it('ignores an error that failureOn does not count', async () => {
    const p = breaker({
      consecutiveFailures: 1,
      failureOn: (o) => !o.ok && (o.error as Error).message !== '404',
    });
    await run(p, () => Promise.reject(new Error('404')));
    expect(p.circuitState).toBe('closed');
  });

  it.each([
    [{ consecutiveFailures: 0 }, RangeError, ['consecutiveFailures', 'received 0']],
    [{ failureRatio: 1.5 }, RangeError, ['failureRatio', 'received 1.5']],
    [{ halfOpenProbes: 0 }, RangeError, ['halfOpenProbes', 'received 0']],
    [
      { breakDurationMs: 2_000, maxBreakDurationMs: 1_000 },
      RangeError,
      ['maxBreakDurationMs', '2000', 'received 1000'],
    ],
    [{ samplingDurationMs: 10 }, RangeError, ['samplingDurationMs', 'received 10']],
    [{ failureOn: true }, TypeError, ['failureOn', 'received true']],
    [{ threshold: 3 }, TypeError, ['threshold']],
  ])(
    'rejects invalid options %o at construction, naming the option and the value',
    (options, type, parts) => {
      let thrown: unknown;
      try {
        circuitBreaker(options as never);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(type);
      for (const part of parts) expect((thrown as Error).message).toContain(part);
    },
  );
});

describe('a failureOn that throws', () => {
  it.each([
    ['with an attempt timeout', { timeout: 1_000, totalTimeout: false }],
    ['with nothing to interrupt the attempt', { timeout: false, totalTimeout: false }],
  ] as const)('fails the call with what it threw instead of leaving it pending, %s', async (_v, timers) => {
    const thrown = new Error('failureOn broke');
    const p = make({
      ...timers,
      retry: false,
      circuitBreaker: {
        consecutiveFailures: 3,
        failureOn: () => {
          throw thrown;
        },
      },
    });
    const result = track(p.execute(succeed));
    await vi.advanceTimersByTimeAsync(0);

    expect(result.error).toBe(thrown);
  });
});
