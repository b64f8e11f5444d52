import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CancelledError,
  compose,
  type ExecuteContext,
  isCancelledError,
  isTimeoutError,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  type ResilienceEvent,
  retry,
  TimeoutError,
  timeout,
  totalTimeout,
} from './index.js';
import { track } from './testing/support.js';

const made: Pipeline[] = [];

function make(options: PipelineOptions | ReturnType<typeof compose>, name = 'timeout-test'): Pipeline {
  const p = pipeline(name, options);
  made.push(p);
  return p;
}

/** Only an attempt timeout: no retry, breaker or total timeout to blur what is being tested. */
const attemptOnly = (ms: number) =>
  make({ timeout: ms, totalTimeout: false, retry: false, circuitBreaker: false });

const never = () => new Promise<never>(() => {});

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.useRealTimers();
});

describe.each([
  ['standard pipeline', attemptOnly],
  ['composed pipeline', (ms: number) => make(compose(timeout(ms)))],
])('DESIGN §4 guarantee 3 (%s): a timeout and a caller’s abort reject differently', (_variant, build) => {
  it('rejects a timed-out attempt with TimeoutError, code KEEL_ERR_TIMEOUT', async () => {
    const result = track(build(100).execute(never));
    await vi.advanceTimersByTimeAsync(100);

    expect(result.error).toBeInstanceOf(TimeoutError);
    expect((result.error as TimeoutError).code).toBe('KEEL_ERR_TIMEOUT');
    expect(isTimeoutError(result.error)).toBe(true);
    expect(isCancelledError(result.error)).toBe(false);
  });

  it('rejects a call its caller aborts with CancelledError, code KEEL_ERR_CANCELLED', async () => {
    const controller = new AbortController();
    const result = track(build(100).execute(never, { signal: controller.signal }));
    await vi.advanceTimersByTimeAsync(10);
    controller.abort();
    await vi.advanceTimersByTimeAsync(0);

    expect(result.error).toBeInstanceOf(CancelledError);
    expect((result.error as CancelledError).code).toBe('KEEL_ERR_CANCELLED');
    expect(isCancelledError(result.error)).toBe(true);
    expect(isTimeoutError(result.error)).toBe(false);
  });

  it('aborts the attempt’s signal with the TimeoutError as reason when the attempt times out', async () => {
    let signal: AbortSignal | undefined;
    const result = track(
      build(100).execute((ctx: ExecuteContext) => {
        signal = ctx.signal;
        return never();
      }),
    );
    await vi.advanceTimersByTimeAsync(100);

    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(result.error);
    expect(isTimeoutError(signal?.reason)).toBe(true);
  });

  it('aborts the attempt’s signal with the CancelledError as reason when the caller aborts', async () => {
    const controller = new AbortController();
    let signal: AbortSignal | undefined;
    const result = track(
      build(100).execute(
        (ctx: ExecuteContext) => {
          signal = ctx.signal;
          return never();
        },
        { signal: controller.signal },
      ),
    );
    await vi.advanceTimersByTimeAsync(10);
    controller.abort(new Error('user left'));
    await vi.advanceTimersByTimeAsync(0);

    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBe(result.error);
    expect(isCancelledError(signal?.reason)).toBe(true);
    expect((signal?.reason as CancelledError | undefined)?.cause).toEqual(new Error('user left'));
  });
});

describe('timeout', () => {
  it('does not reject before the timeout elapses', async () => {
    const result = track(attemptOnly(100).execute(never));
    await vi.advanceTimersByTimeAsync(99);

    expect(result.settled).toBe(false);
  });

  it('rejects at the deadline even when fn ignores its signal', async () => {
    const result = track(attemptOnly(250).execute(never));
    await vi.advanceTimersByTimeAsync(250);

    expect(result.settled).toBe(true);
    expect((result.error as TimeoutError).timeoutMs).toBe(250);
    expect((result.error as TimeoutError).scope).toBe('attempt');
  });

  it('passes through the result of an attempt that finishes in time', async () => {
    const result = track(
      attemptOnly(100).execute(() => new Promise((resolve) => setTimeout(resolve, 50, 'fast'))),
    );
    await vi.advanceTimersByTimeAsync(50);

    expect(result.value).toBe('fast');
  });

  it('passes through the error of an attempt that fails in time', async () => {
    const failure = new Error('boom');
    const result = track(attemptOnly(100).execute(() => Promise.reject(failure)));
    await vi.advanceTimersByTimeAsync(0);

    expect(result.error).toBe(failure);
  });

  it('leaves no timer behind once the attempt settles', async () => {
    const result = track(attemptOnly(100).execute(() => Promise.resolve('ok')));
    await vi.advanceTimersByTimeAsync(0);

    expect(result.value).toBe('ok');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('names the pipeline in the TimeoutError', async () => {
    const p = make({ timeout: 100, totalTimeout: false, retry: false, circuitBreaker: false }, 'inventory');
    const result = track(p.execute(never));
    await vi.advanceTimersByTimeAsync(100);

    expect((result.error as TimeoutError).pipeline).toBe('inventory');
    expect((result.error as Error).message).toContain('inventory');
  });

  it('emits a timeout event with the time the timeout allowed', async () => {
    const p = attemptOnly(150);
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    const result = track(p.execute(never));
    await vi.advanceTimersByTimeAsync(150);

    expect(events.find((e) => e.kind === 'timeout')).toMatchObject({
      pipeline: 'timeout-test',
      policy: 'timeout',
      attempt: 1,
      durationS: 0.15,
      error: result.error,
    });
  });

  it('gives each retried attempt a fresh timeout', async () => {
    const p = make(
      compose(retry({ budget: false, maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1 }), timeout(100)),
    );
    const starts: number[] = [];
    const result = track(
      p.execute(() => {
        starts.push(performance.now());
        return never();
      }),
    );
    await vi.advanceTimersByTimeAsync(1_000);

    expect(starts).toHaveLength(3);
    expect((result.error as TimeoutError).scope).toBe('attempt');
  });

  it.each([0, -1, 1.5, Number.POSITIVE_INFINITY])('rejects %s ms at construction, naming the value', (ms) => {
    expect(() => timeout(ms)).toThrow(RangeError);
    expect(() => timeout(ms)).toThrow(`received ${ms}`);
  });
});

describe('totalTimeout', () => {
  it('bounds the whole call, retries included, and rejects with scope total', async () => {
    const p = make(
      compose(
        totalTimeout(250),
        retry({ budget: false, maxAttempts: 10, baseDelayMs: 1, maxDelayMs: 1 }),
        timeout(100),
      ),
    );
    const fn = vi.fn(never);
    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(249);
    expect(result.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);

    expect(result.error).toBeInstanceOf(TimeoutError);
    expect((result.error as TimeoutError).scope).toBe('total');
    expect((result.error as TimeoutError).timeoutMs).toBe(250);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fn.mock.calls.length).toBeLessThanOrEqual(3);
  });

  it('aborts the running attempt’s signal when the whole call times out', async () => {
    const p = make({ timeout: 1_000, totalTimeout: 1_000, retry: false, circuitBreaker: false });
    let signal: AbortSignal | undefined;
    const result = track(
      p.execute((ctx: ExecuteContext) => {
        signal = ctx.signal;
        return never();
      }),
    );
    await vi.advanceTimersByTimeAsync(1_000);

    expect(result.settled).toBe(true);
    expect(signal?.aborted).toBe(true);
    expect(isTimeoutError(signal?.reason)).toBe(true);
  });
});

describe('shared guard timers of a standard pipeline', () => {
  it('times out concurrent attempts each at its own deadline', async () => {
    const p = attemptOnly(100);
    const first = track(p.execute(never));
    await vi.advanceTimersByTimeAsync(30);
    const second = track(p.execute(never));

    await vi.advanceTimersByTimeAsync(69);
    expect(first.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(isTimeoutError(first.error)).toBe(true);
    expect(second.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(29);
    expect(second.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(isTimeoutError(second.error)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('times out the whole calls of one pipeline each at its own deadline', async () => {
    const p = make({ timeout: 100, totalTimeout: 150, retry: { maxAttempts: 5, baseDelayMs: 1 } });
    const first = track(p.execute(never));
    await vi.advanceTimersByTimeAsync(50);
    const second = track(p.execute(never));

    await vi.advanceTimersByTimeAsync(100);
    expect((first.error as TimeoutError).scope).toBe('total');
    expect(second.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    expect((second.error as TimeoutError).scope).toBe('total');
  });

  it('expires a 10 ms attempt timeout at 10 ms, not at a coarse tick', async () => {
    const p = attemptOnly(10);
    const call = track(p.execute(never));

    await vi.advanceTimersByTimeAsync(9);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(isTimeoutError(call.error)).toBe(true);
  });

  it('emits each timeout event in the context of the call that timed out (real timers)', async () => {
    vi.useRealTimers();
    const key = createContextKey('timeout-test.caller');
    const p = attemptOnly(5);
    const seen: unknown[] = [];
    p.onEvent((e) => {
      if (e.kind === 'timeout') seen.push(context.active().getValue(key));
    });

    await Promise.all(
      ['a', 'b'].map((caller) =>
        context.with(ROOT_CONTEXT.setValue(key, caller), () => p.execute(never).catch(() => undefined)),
      ),
    );

    expect(seen).toEqual(['a', 'b']);
  });
});
