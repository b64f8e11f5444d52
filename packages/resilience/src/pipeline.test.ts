import { afterEach, beforeEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { livePipelines, onPipelineCreated, onPipelineDisposed } from './adapter.js';
import {
  bulkhead,
  CancelledError,
  circuitBreaker,
  compose,
  type ExecuteContext,
  isCancelledError,
  isPolicy,
  isTimeoutError,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  type RetryPolicy,
  rateLimit,
  retry,
  type TimeoutError,
  type TimeoutPolicy,
  timeout,
  totalTimeout,
} from './index.js';
import { deferred, record, track } from './testing/support.js';

const made: Pipeline[] = [];

function make(options: PipelineOptions | ReturnType<typeof compose> = {}, name = 'pipeline-test'): Pipeline {
  const p = pipeline(name, options);
  made.push(p);
  return p;
}

const never = () => new Promise<never>(() => {});
const withHint = (ms: number) => Object.assign(new Error('busy'), { retryAfterMs: ms });

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('composition', () => {
  it('orders the standard policies rate limit → total timeout → retry → breaker → bulkhead → attempt timeout', () => {
    const p = make({
      fallback: 'x',
      rateLimit: { limit: 10 },
      bulkhead: { maxConcurrent: 4 },
    });

    expect(p.policies.map((policy) => policy.name)).toEqual([
      'fallback',
      'rate-limit',
      'total-timeout',
      'retry',
      'circuit-breaker',
      'bulkhead',
      'timeout',
    ]);
  });

  it('leaves out each policy set to false', () => {
    const p = make({ timeout: false, totalTimeout: false, retry: false, circuitBreaker: false });
    expect(p.policies).toEqual([]);
  });

  it('just calls fn when every policy is off', async () => {
    const p = make({ timeout: false, totalTimeout: false, retry: false, circuitBreaker: false });
    await expect(p.execute(({ attempt }: ExecuteContext) => `attempt ${attempt}`)).resolves.toBe('attempt 1');
  });

  it('keeps the order given to compose, outermost first', () => {
    const p = make(compose(timeout(100), retry(), circuitBreaker()));
    expect(p.policies.map((policy) => policy.name)).toEqual(['timeout', 'retry', 'circuit-breaker']);
  });

  it('flattens nested compositions', () => {
    const p = make(compose(compose(totalTimeout(1_000), retry()), compose(bulkhead({ maxConcurrent: 1 }))));
    expect(p.policies.map((policy) => policy.name)).toEqual(['total-timeout', 'retry', 'bulkhead']);
    expect(isPolicy(compose())).toBe(true);
  });

  it('a timeout inside retry bounds each attempt, so a slow attempt is retried', async () => {
    const p = make(compose(retry({ budget: false, maxAttempts: 2 }), timeout(100)));
    const fn = vi.fn().mockImplementationOnce(never).mockResolvedValue('second');
    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(1_000);

    expect(result.value).toBe('second');
  });

  it('a timeout outside retry bounds all attempts together', async () => {
    const p = make(compose(timeout(100), retry({ budget: false, maxAttempts: 2 })));
    const fn = vi.fn().mockImplementationOnce(never).mockResolvedValue('second');
    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(1_000);

    expect(isTimeoutError(result.error)).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('resolves with what fn returns, sync or async', async () => {
    const p = make();
    await expect(p.execute(() => 42)).resolves.toBe(42);
    await expect(p.execute(async () => 'async')).resolves.toBe('async');
  });

  it('rejects with what a synchronous fn throws', async () => {
    const p = make({ retry: false });
    const failure = new Error('sync');
    await expect(
      p.execute(() => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });

  it('rejects a call whose signal is already aborted, without calling fn', async () => {
    const p = make();
    const fn = vi.fn(() => 'x');
    const error = await p.execute(fn, { signal: AbortSignal.abort() }).catch((e: unknown) => e);

    expect(isCancelledError(error)).toBe(true);
    expect(fn).not.toHaveBeenCalled();
  });

  it('types execute by what fn resolves to', () => {
    const p = make();
    expectTypeOf(p.execute(() => 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(p.execute(async () => 'x')).toEqualTypeOf<Promise<string>>();
    expectTypeOf(p.execute).parameter(0).parameter(0).toEqualTypeOf<ExecuteContext>();
  });
});

describe('DESIGN §4 guarantee 7: no timer keeps the process alive; dispose() leaves nothing behind', () => {
  it('leaves no timer behind after a successful call', async () => {
    const p = make();
    await p.execute(() => Promise.resolve('ok'));

    expect(vi.getTimerCount()).toBe(0);
  });

  it('leaves no timer behind after a call that gave up', async () => {
    const p = make();
    const result = track(p.execute(() => Promise.reject(new Error('down'))));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.settled).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it.each([
    ['standard pipeline', () => make({ timeout: 1_000, totalTimeout: 5_000 })],
    ['composed pipeline', () => make(compose(totalTimeout(5_000), retry(), timeout(1_000)))],
  ])('unrefs every guard timer of a pending call in a %s', async (_variant, build) => {
    const p = build();
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const gate = deferred<string>();
    const result = track(p.execute(() => gate.promise));
    await vi.advanceTimersByTimeAsync(0);

    const handles = setTimeoutSpy.mock.results.map((r) => r.value as NodeJS.Timeout);
    expect(handles.length).toBeGreaterThan(0);
    expect(handles.every((handle) => !handle.hasRef())).toBe(true);
    gate.resolve('ok');
    await vi.advanceTimersByTimeAsync(0);
    expect(result.value).toBe('ok');
  });

  it('adds no referenced handle to the process while a guarded call is pending (real timers)', async () => {
    vi.useRealTimers();
    const p = make({ timeout: 60_000, totalTimeout: 120_000 });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const gate = deferred<string>();

    const call = p.execute(() => gate.promise);
    await Promise.resolve();
    const during = timers();
    gate.resolve('ok');
    await call;

    expect(during).toBe(before);
  });

  it.each([
    ['standard pipeline', () => make({ retry: { maxAttempts: 5 } })],
    [
      'composed pipeline',
      () => make(compose(totalTimeout(30_000), retry({ maxAttempts: 5 }), timeout(10_000))),
    ],
  ])(
    'dispose() ends a backoff sleep at once with CancelledError and leaves no timer, in a %s',
    async (_v, build) => {
      const p = build();
      const fn = vi.fn(() => Promise.reject(withHint(5_000)));
      const result = track(p.execute(fn));
      await vi.advanceTimersByTimeAsync(0);
      expect(fn).toHaveBeenCalledTimes(1);

      p.dispose();
      await vi.advanceTimersByTimeAsync(0);

      expect(isCancelledError(result.error)).toBe(true);
      expect(vi.getTimerCount()).toBe(0);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(fn).toHaveBeenCalledTimes(1);
    },
  );

  it.each([
    ['standard pipeline', () => make({ bulkhead: { maxConcurrent: 1, maxQueue: 1 } })],
    [
      'composed pipeline',
      () => make(compose(totalTimeout(30_000), bulkhead({ maxConcurrent: 1, maxQueue: 1 }))),
    ],
  ])('dispose() ends a bulkhead queue wait at once with CancelledError, in a %s', async (_v, build) => {
    const p = build();
    const running = track(p.execute(never));
    const queuedFn = vi.fn(() => 'x');
    const queued = track(p.execute(queuedFn));
    await vi.advanceTimersByTimeAsync(0);

    p.dispose();
    await vi.advanceTimersByTimeAsync(0);

    expect(isCancelledError(queued.error)).toBe(true);
    expect(isCancelledError(running.error)).toBe(true);
    expect(queuedFn).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('dispose() ends a rate-limit wait at once with CancelledError', async () => {
    const p = make({ rateLimit: { limit: 1, intervalMs: 10_000, maxWaitMs: 10_000 } });
    await p.execute(() => 'first');
    const fn = vi.fn(() => 'second');
    const waiting = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(0);

    p.dispose();
    await vi.advanceTimersByTimeAsync(0);

    expect(isCancelledError(waiting.error)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(fn).not.toHaveBeenCalled();
  });

  it('dispose() aborts the signal of an attempt in flight and rejects the call with CancelledError', async () => {
    const p = make();
    let signal: AbortSignal | undefined;
    const result = track(
      p.execute((ctx: ExecuteContext) => {
        signal = ctx.signal;
        return never();
      }),
    );
    await vi.advanceTimersByTimeAsync(0);

    p.dispose();
    await vi.advanceTimersByTimeAsync(0);

    expect(signal?.aborted).toBe(true);
    expect(isCancelledError(result.error)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects new calls after dispose() with CancelledError, without calling fn', async () => {
    const p = make();
    p.dispose();
    const fn = vi.fn(() => 'x');

    const error = await p.execute(fn).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CancelledError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('dispose() removes the pipeline from livePipelines()', () => {
    const p = make({}, 'to-dispose');
    expect(livePipelines()).toContain(p);
    p.dispose();
    expect(livePipelines()).not.toContain(p);
  });
});

describe('DESIGN §4 guarantee 8: no unsafe defaults', () => {
  it('the default pipeline makes at most 3 attempts', async () => {
    const p = make();
    const fn = vi.fn(() => Promise.reject(new Error('down')));
    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(600_000);

    expect(result.settled).toBe(true);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('defaults to a 10 s attempt timeout, a 30 s total timeout and 3 attempts', () => {
    const p = make();
    const byName = (name: string) => p.policies.find((policy) => policy.name === name);

    expect((byName('timeout') as TimeoutPolicy).ms).toBe(10_000);
    expect((byName('total-timeout') as TimeoutPolicy).ms).toBe(30_000);
    expect((byName('retry') as RetryPolicy).maxAttempts).toBe(3);
    expect((byName('retry') as RetryPolicy).budget?.maxTokens).toBe(20);
  });

  it('has no bulkhead and no rate limit unless configured', () => {
    const p = make();
    expect(p.policies.map((policy) => policy.name)).not.toContain('bulkhead');
    expect(p.policies.map((policy) => policy.name)).not.toContain('rate-limit');
  });

  it('the default backoff averages above zero and stays within base × 2^(n-1)', async () => {
    const p = make({ retry: { budget: false }, circuitBreaker: false });
    const events = record(p);
    const all = Promise.allSettled(
      Array.from({ length: 50 }, () => p.execute(() => Promise.reject(new Error('x')))),
    );
    await vi.advanceTimersByTimeAsync(60_000);
    await all;

    const retries = events.filter((e) => e.kind === 'retry');
    const delays = retries.map((e) => e.delayMs ?? Number.NaN);
    expect(delays).toHaveLength(100);
    expect(delays.reduce((a, b) => a + b, 0) / delays.length).toBeGreaterThan(10);
    for (const e of retries) expect(e.delayMs).toBeLessThanOrEqual(100 * 2 ** (e.attempt - 1));
  });

  it('the default backoff never exceeds 5 s', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
    const p = make({ totalTimeout: false, retry: { maxAttempts: 12, budget: false }, circuitBreaker: false });
    const events = record(p);
    const result = track(p.execute(() => Promise.reject(new Error('x'))));
    await vi.advanceTimersByTimeAsync(600_000);

    expect(result.settled).toBe(true);
    const delays = events.filter((e) => e.kind === 'retry').map((e) => e.delayMs ?? Number.NaN);
    expect(Math.max(...delays)).toBeLessThanOrEqual(5_000);
    expect(Math.max(...delays)).toBeGreaterThan(4_000);
  });

  it('a totalTimeout below the default attempt timeout lowers the attempt timeout instead of throwing', () => {
    const p = make({ totalTimeout: 5_000 });
    const attempt = p.policies.find((policy) => policy.name === 'timeout') as TimeoutPolicy | undefined;

    expect(attempt?.ms ?? 0).toBeLessThanOrEqual(5_000);
  });

  it('grows the default breaker window to twice a long attempt timeout instead of throwing', () => {
    expect(() => make({ timeout: 20_000 })).not.toThrow();
  });

  it.each<[string, unknown, ErrorConstructor, string[]]>([
    [
      'maxAttempts 0',
      { retry: { maxAttempts: 0 } },
      RangeError,
      ['retry.maxAttempts', '1 to 100', 'received 0'],
    ],
    [
      'maxAttempts Infinity',
      { retry: { maxAttempts: Number.POSITIVE_INFINITY } },
      RangeError,
      ['retry.maxAttempts', '1 to 100', 'received Infinity'],
    ],
    [
      'maxAttempts 1.5',
      { retry: { maxAttempts: 1.5 } },
      RangeError,
      ['retry.maxAttempts', 'integer', 'received 1.5'],
    ],
    [
      'maxAttempts NaN',
      { retry: { maxAttempts: Number.NaN } },
      RangeError,
      ['retry.maxAttempts', 'received NaN'],
    ],
    [
      "maxAttempts 'x'",
      { retry: { maxAttempts: 'x' } },
      TypeError,
      ['retry.maxAttempts', '1 to 100', 'received "x"'],
    ],
    ['baseDelayMs 0', { retry: { baseDelayMs: 0 } }, RangeError, ['retry.baseDelayMs', 'received 0']],
    ['a negative timeout', { timeout: -1 }, RangeError, ['option timeout', 'from 1', 'received -1']],
    ['a zero timeout', { timeout: 0 }, RangeError, ['option timeout', 'from 1', 'received 0']],
    [
      'a negative totalTimeout',
      { totalTimeout: -5 },
      RangeError,
      ['option totalTimeout', 'from 1', 'received -5'],
    ],
    ["timeout '1s'", { timeout: '1s' }, TypeError, ['option timeout', 'received "1s"']],
    [
      'timeout above totalTimeout',
      { timeout: 5_000, totalTimeout: 1_000 },
      RangeError,
      ['timeout', '5000', 'totalTimeout', '1000'],
    ],
    [
      'samplingDurationMs below 2 × the default timeout',
      { circuitBreaker: { samplingDurationMs: 5_000 } },
      RangeError,
      ['circuitBreaker.samplingDurationMs', '20000', 'received 5000'],
    ],
    [
      'samplingDurationMs below 2 × timeout',
      { timeout: 1_000, circuitBreaker: { samplingDurationMs: 1_500 } },
      RangeError,
      ['circuitBreaker.samplingDurationMs', '2000', 'received 1500'],
    ],
    [
      'an unknown option',
      { retries: 3 },
      TypeError,
      ['pipeline "validated": unknown option "retries"', 'expected one of', 'retry'],
    ],
    ['an unknown retry option', { retry: { maxAttempt: 3 } }, TypeError, ['retry.maxAttempt', 'maxAttempts']],
    [
      'an unknown breaker option',
      { circuitBreaker: { threshold: 0.5 } },
      TypeError,
      ['circuitBreaker.threshold', 'failureRatio'],
    ],
    [
      'consecutiveFailures 0',
      { circuitBreaker: { consecutiveFailures: 0 } },
      RangeError,
      ['circuitBreaker.consecutiveFailures', 'received 0'],
    ],
    [
      'maxConcurrent 0',
      { bulkhead: { maxConcurrent: 0 } },
      RangeError,
      ['bulkhead.maxConcurrent', 'received 0'],
    ],
    [
      'a bulkhead without maxConcurrent',
      { bulkhead: {} },
      TypeError,
      ['bulkhead.maxConcurrent', 'received undefined'],
    ],
    [
      'maxQueue -1',
      { bulkhead: { maxConcurrent: 1, maxQueue: -1 } },
      RangeError,
      ['bulkhead.maxQueue', 'received -1'],
    ],
    ['rate limit 0', { rateLimit: { limit: 0 } }, RangeError, ['rateLimit.limit', 'received 0']],
    ['retry null', { retry: null }, TypeError, ['retry', 'received null']],
    ['circuitBreaker true', { circuitBreaker: true }, TypeError, ['circuitBreaker', 'received true']],
    [
      'budget maxTokens 0',
      { retry: { budget: { maxTokens: 0 } } },
      RangeError,
      ['retry.budget.maxTokens', 'received 0'],
    ],
  ])(
    'rejects %s at construction, naming the option, the range and the value',
    (_what, options, type, parts) => {
      let thrown: unknown;
      try {
        pipeline('validated', options as PipelineOptions);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(type);
      for (const part of parts) expect((thrown as Error).message).toContain(part);
    },
  );

  it.each<[string, unknown]>([
    ['an empty name', ''],
    ['a name with a space', 'payments api'],
    ['a 129-character name', 'x'.repeat(129)],
    ['a name with a non-ASCII letter', 'paiements-é'],
    ['a number', 42],
    ['undefined', undefined],
  ])('rejects %s as a pipeline name with a TypeError naming the value', (_what, name) => {
    expect(() => pipeline(name as string)).toThrow(TypeError);
    expect(() => pipeline(name as string)).toThrow(/name must be 1 to 128 characters.*received/);
  });

  it('rejects options that are not an object', () => {
    expect(() => pipeline('bad-options', 42 as never)).toThrow(TypeError);
    expect(() => pipeline('bad-options', 42 as never)).toThrow('received 42');
  });
});

describe('events', () => {
  it('emits one attempt event per physical attempt, with its duration and error', async () => {
    const p = make({ retry: { budget: false, maxAttempts: 2, retryAfter: () => 10 } });
    const events = record(p);
    const failure = new Error('slow failure');
    let n = 0;
    const result = track(
      p.execute(
        () =>
          new Promise((resolve, reject) => {
            n++;
            if (n === 1) setTimeout(reject, 250, failure);
            else setTimeout(resolve, 100, 'ok');
          }),
      ),
    );
    await vi.advanceTimersByTimeAsync(1_000);

    expect(result.value).toBe('ok');
    const attempts = events.filter((e) => e.kind === 'attempt');
    expect(attempts).toEqual([
      {
        pipeline: 'pipeline-test',
        policy: 'pipeline',
        kind: 'attempt',
        attempt: 1,
        durationS: 0.25,
        error: failure,
      },
      { pipeline: 'pipeline-test', policy: 'pipeline', kind: 'attempt', attempt: 2, durationS: 0.1 },
    ]);
  });

  it('emits success with the duration of the whole call, retries included', async () => {
    const p = make({ retry: { budget: false, maxAttempts: 2, retryAfter: () => 300 } });
    const events = record(p);
    const fn = vi.fn().mockRejectedValueOnce(new Error('blip')).mockResolvedValue('ok');
    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(1_000);

    expect(result.value).toBe('ok');
    expect(events.at(-1)).toEqual({
      pipeline: 'pipeline-test',
      policy: 'pipeline',
      kind: 'success',
      attempt: 2,
      durationS: 0.3,
    });
  });

  it('emits failure with the error the call rejected with', async () => {
    const p = make({ retry: false });
    const events = record(p);
    const failure = new Error('down');
    await p.execute(() => Promise.reject(failure)).catch(() => undefined);

    expect(events.at(-1)).toMatchObject({
      pipeline: 'pipeline-test',
      policy: 'pipeline',
      kind: 'failure',
      error: failure,
    });
  });

  it('emits timeout from total-timeout when the whole call runs out of time', async () => {
    const p = make({ timeout: 1_000, totalTimeout: 1_000, retry: false });
    const events = record(p);
    const result = track(p.execute(never));
    await vi.advanceTimersByTimeAsync(1_000);

    expect((result.error as TimeoutError).scope).toBe('total');
    expect(events.find((e) => e.kind === 'timeout')).toMatchObject({
      policy: 'total-timeout',
      durationS: 1,
      error: result.error,
    });
  });

  it('gives every event the pipeline, a policy, a kind, the attempt and a duration', async () => {
    const p = make({
      timeout: 100,
      retry: { budget: false, maxAttempts: 3 },
      circuitBreaker: { consecutiveFailures: 2, breakDurationMs: 1_000 },
      bulkhead: { maxConcurrent: 1, maxQueue: 1 },
      rateLimit: { limit: 100 },
      fallback: 'fallback',
    });
    const events = record(p);
    const calls = [1, 2, 3, 4].map(() => track(p.execute(never)));
    await vi.advanceTimersByTimeAsync(5_000);
    await p.execute(() => 'ok');

    expect(calls.every((c) => c.settled)).toBe(true);
    expect([...new Set(events.map((e) => e.kind))]).toEqual(
      expect.arrayContaining([
        'queued',
        'reject',
        'timeout',
        'attempt',
        'retry',
        'break',
        'fallback',
        'success',
      ]),
    );
    for (const e of events) {
      expect(e.pipeline).toBe('pipeline-test');
      expect(typeof e.policy).toBe('string');
      expect(Number.isInteger(e.attempt) && e.attempt >= 0).toBe(true);
      expect(e.durationS).toBeGreaterThanOrEqual(0);
    }
  });

  it('reports the call’s own duration to a listener that subscribed while the call was in flight', async () => {
    const p = make({ retry: false });
    await vi.advanceTimersByTimeAsync(10_000);
    const gate = deferred<string>();
    const call = p.execute(() => gate.promise);
    await vi.advanceTimersByTimeAsync(100);
    const events = record(p);
    await vi.advanceTimersByTimeAsync(400);
    gate.resolve('ok');
    await call;

    const success = events.find((e) => e.kind === 'success');
    expect(success?.durationS).toBeLessThanOrEqual(0.5);
  });

  it('stops delivering events once the disposer is called', async () => {
    const p = make({ retry: false });
    const listener = vi.fn();
    const dispose = p.onEvent(listener);
    await p.execute(() => 'ok');
    expect(listener).toHaveBeenCalled();
    listener.mockClear();

    dispose();
    await p.execute(() => 'ok');
    await p.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);

    expect(listener).not.toHaveBeenCalled();
  });

  it('keeps delivering to the other listeners when one is disposed', async () => {
    const p = make({ retry: false });
    const kept = vi.fn();
    const dropped = vi.fn();
    p.onEvent(kept);
    const dispose = p.onEvent(dropped);
    dispose();

    await p.execute(() => 'ok');

    expect(kept).toHaveBeenCalled();
    expect(dropped).not.toHaveBeenCalled();
  });

  it('does not let a throwing listener change the outcome of the call', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const p = make({ retry: false });
    const seen = vi.fn();
    p.onEvent(() => {
      throw new Error('broken listener');
    });
    p.onEvent(seen);

    await expect(p.execute(() => 'ok')).resolves.toBe('ok');
    expect(seen).toHaveBeenCalled();
    expect(warn.mock.calls.length).toBeLessThanOrEqual(1);
  });

  it('delivers events of one pipeline only to its own listeners', async () => {
    const a = make({ retry: false }, 'events-a');
    const b = make({ retry: false }, 'events-b');
    const listener = vi.fn();
    a.onEvent(listener);

    await b.execute(() => 'ok');

    expect(listener).not.toHaveBeenCalled();
  });
});

describe('stats', () => {
  it('counts the calls in flight', async () => {
    const p = make();
    const gate = deferred<string>();
    const calls = [p.execute(() => gate.promise), p.execute(() => gate.promise)];
    expect(p.stats.inFlight).toBe(2);

    gate.resolve('ok');
    await Promise.all(calls);
    expect(p.stats.inFlight).toBe(0);
  });

  it('reports the circuit state and leaves bulkhead numbers undefined without a bulkhead', () => {
    const p = make();
    expect(p.stats).toEqual({
      inFlight: 0,
      circuitState: 'closed',
      bulkheadInFlight: undefined,
      bulkheadQueued: undefined,
      budgetTokens: 20,
    });
  });

  it('reports stats for the policies of a composed pipeline', () => {
    const p = make(compose(retry(), circuitBreaker(), bulkhead({ maxConcurrent: 2 })));
    expect(p.stats).toMatchObject({
      circuitState: 'closed',
      bulkheadInFlight: 0,
      bulkheadQueued: 0,
      budgetTokens: 20,
    });
  });
});

describe('registry', () => {
  it('onPipelineCreated sees each pipeline created afterwards', () => {
    const seen: string[] = [];
    const stop = onPipelineCreated((p) => seen.push(p.name));
    make({}, 'registry-new');
    stop();
    make({}, 'registry-after-stop');

    expect(seen).toEqual(['registry-new']);
  });

  it('onPipelineCreated with replay also sees the live pipelines', () => {
    const existing = make({}, 'registry-existing');
    const seen: Pipeline[] = [];
    const stop = onPipelineCreated((p) => seen.push(p), { replay: true });
    stop();

    expect(seen).toContain(existing);
  });

  it('rejects a second live pipeline of the same name, with a message naming the name', () => {
    make({}, 'registry-twice');

    expect(() => make({ retry: false }, 'registry-twice')).toThrow(
      /pipeline "registry-twice": a live pipeline already has this name/,
    );
  });

  it('frees the name of a pipeline when it is disposed', () => {
    make({}, 'registry-freed').dispose();

    expect(make({}, 'registry-freed').name).toBe('registry-freed');
  });

  it('onPipelineDisposed calls its listener once when the pipeline is disposed', () => {
    const p = make({}, 'registry-disposed');
    const listener = vi.fn();
    onPipelineDisposed(p, listener);
    p.dispose();
    p.dispose();

    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('onPipelineDisposed calls its listener at once for a pipeline already disposed', () => {
    const p = make({}, 'registry-gone');
    p.dispose();
    const listener = vi.fn();
    onPipelineDisposed(p, listener);

    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('livePipelines lists the pipelines not yet disposed', () => {
    const p = make({}, 'registry-live');
    expect(livePipelines()).toContain(p);
  });

  it('lets a composed rate limiter be shared between pipelines', async () => {
    const limiter = rateLimit({ limit: 1, intervalMs: 60_000 });
    const a = make(compose(limiter), 'shared-a');
    const b = make(compose(limiter), 'shared-b');
    await a.execute(() => 'ok');

    await expect(b.execute(() => 'ok')).rejects.toThrow(/rate limited/);
  });
});

describe('execute option idempotent: false', () => {
  it.each([
    ['the standard pipeline', () => make({ retry: { baseDelayMs: 1 } })],
    ['a composed pipeline', () => make(compose(retry({ baseDelayMs: 1 }), timeout(1_000)))],
  ])('sends a failing call once in %s', async (_, build) => {
    const p = build();
    const fn = vi.fn(async () => {
      throw new Error('down');
    });
    await expect(p.execute(fn, { idempotent: false })).rejects.toThrow('down');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('returns a result retryOn would retry as it is, after one attempt', async () => {
    const p = make({ retry: { baseDelayMs: 1, retryOn: (o) => o.ok && o.result === 'busy' } });
    const fn = vi.fn(async () => 'busy');
    await expect(p.execute(fn, { idempotent: false })).resolves.toBe('busy');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('leaves the other calls of the pipeline retried', async () => {
    const p = make({ retry: { baseDelayMs: 1 } });
    let calls = 0;
    const once = p.execute(
      async () => {
        throw new Error('down');
      },
      { idempotent: false },
    );
    const retried = p.execute(async () => {
      calls++;
      if (calls < 2) throw new Error('down');
      return 'ok';
    });
    await expect(once).rejects.toThrow('down');
    await vi.advanceTimersByTimeAsync(10);
    await expect(retried).resolves.toBe('ok');
    expect(calls).toBe(2);
  });
});
