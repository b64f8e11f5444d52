import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  compose,
  type ExecuteContext,
  getDeadline,
  isTimeoutError,
  msUntil,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  type ResilienceEvent,
  remainingMs,
  retry,
  runWithDeadline,
  setDeadline,
  type TimeoutError,
  timeout,
  totalTimeout,
} from './index.js';
import { track } from './testing/support.js';

const made: Pipeline[] = [];

function make(options: PipelineOptions | ReturnType<typeof compose>, name = 'deadline-test'): Pipeline {
  const p = pipeline(name, options);
  made.push(p);
  return p;
}

const never = () => new Promise<never>(() => {});

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.useRealTimers();
});

describe('runWithDeadline', () => {
  it('bounds a pipeline’s attempt timeout by the inherited deadline', async () => {
    const p = make({ timeout: 10_000, retry: false, circuitBreaker: false });
    const result = track(runWithDeadline(500, () => p.execute(never)));

    await vi.advanceTimersByTimeAsync(499);
    expect(result.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);

    expect(isTimeoutError(result.error)).toBe(true);
    expect((result.error as TimeoutError).scope).toBe('deadline');
  });

  it('bounds a composed pipeline’s timeout by the inherited deadline', async () => {
    const p = make(compose(timeout(10_000)));
    const result = track(runWithDeadline(500, () => p.execute(never)));

    await vi.advanceTimersByTimeAsync(500);

    expect(isTimeoutError(result.error)).toBe(true);
    expect((result.error as TimeoutError).scope).toBe('deadline');
  });

  it('rejects a call whose deadline is already spent with TimeoutError, without calling fn', async () => {
    const p = make({});
    const fn = vi.fn(() => 'never');

    const error = await runWithDeadline(0, () => p.execute(fn)).catch((e: unknown) => e);

    expect(isTimeoutError(error)).toBe(true);
    expect((error as TimeoutError).scope).toBe('deadline');
    expect(fn).not.toHaveBeenCalled();
  });

  it('rejects a call made after the deadline passed, without calling fn', async () => {
    const p = make({});
    const fn = vi.fn(() => 'never');

    const result = track(
      runWithDeadline(100, async () => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return p.execute(fn);
      }),
    );
    await vi.advanceTimersByTimeAsync(150);

    expect(isTimeoutError(result.error)).toBe(true);
    expect(fn).not.toHaveBeenCalled();
  });

  it('keeps the nearer of a nested and an inherited deadline', () => {
    const outer = runWithDeadline(100, () => runWithDeadline(5_000, () => remainingMs()));
    const inner = runWithDeadline(5_000, () => runWithDeadline(100, () => remainingMs()));

    expect(outer).toBe(100);
    expect(inner).toBe(100);
  });

  it('carries the deadline across await without an OpenTelemetry SDK', async () => {
    const left = await runWithDeadline(1_000, async () => {
      await Promise.resolve();
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      return remainingMs();
    });

    expect(left).toBe(1_000);
  });

  it.each([-1, Number.NaN, 'soon'])('rejects %s ms, naming the value', (ms) => {
    expect(() => runWithDeadline(ms as never, () => undefined)).toThrow(/runWithDeadline.*ms.*received/);
  });
});

describe('deadline inside fn', () => {
  it('remainingMs() reflects the total timeout when it is nearer than the inherited deadline', async () => {
    const p = make({ timeout: 1_000, totalTimeout: 2_000, retry: false, circuitBreaker: false });
    const left = await runWithDeadline(5_000, () => p.execute(() => remainingMs()));

    expect(left).toBe(2_000);
  });

  it('remainingMs() reflects the inherited deadline when it is nearer than the total timeout', async () => {
    const p = make({ timeout: 1_000, totalTimeout: 2_000, retry: false, circuitBreaker: false });
    const left = await runWithDeadline(300, () => p.execute(() => remainingMs()));

    expect(left).toBe(300);
  });

  it('remainingMs() reflects the total timeout with no inherited deadline', async () => {
    const p = make({ timeout: 1_000, totalTimeout: 2_000, retry: false, circuitBreaker: false });
    const left = await p.execute(() => remainingMs());

    expect(left).toBe(2_000);
  });

  it('remainingMs() inside a composed pipeline’s fn reflects its totalTimeout', async () => {
    const p = make(compose(totalTimeout(2_000), timeout(1_000)));
    const left = await runWithDeadline(5_000, () => p.execute(() => remainingMs()));

    expect(left).toBe(2_000);
  });

  it('remainingMs() keeps shrinking across the retries of one call', async () => {
    const p = make({ timeout: 1_000, totalTimeout: 5_000, retry: { budget: false }, circuitBreaker: false });
    const seen: (number | undefined)[] = [];
    const result = track(
      p.execute(({ attempt }: ExecuteContext) => {
        seen.push(remainingMs());
        return attempt < 2 ? Promise.reject(Object.assign(new Error('busy'), { retryAfterMs: 400 })) : 'ok';
      }),
    );
    await vi.advanceTimersByTimeAsync(400);

    expect(result.value).toBe('ok');
    expect(seen).toEqual([5_000, 4_600]);
  });

  it('ctx.deadline is the attempt’s own bound when the attempt timeout is nearest', async () => {
    const p = make({ timeout: 1_000, totalTimeout: 2_000, retry: false, circuitBreaker: false });
    const left = await runWithDeadline(5_000, () =>
      p.execute(({ deadline }: ExecuteContext) => msUntil(deadline!)),
    );

    expect(left).toBe(1_000);
  });

  it('ctx.deadline is the inherited deadline when that is nearest', async () => {
    const p = make({ timeout: 1_000, totalTimeout: 2_000, retry: false, circuitBreaker: false });
    const left = await runWithDeadline(300, () =>
      p.execute(({ deadline }: ExecuteContext) => msUntil(deadline!)),
    );

    expect(left).toBe(300);
  });

  it('a nested pipeline inherits the outer call’s deadline', async () => {
    const outer = make({ timeout: 500, totalTimeout: 500, retry: false, circuitBreaker: false }, 'outer');
    const inner = make({ retry: false, circuitBreaker: false }, 'inner');
    let innerResult: ReturnType<typeof track> | undefined;
    const result = track(
      outer.execute(() => {
        const call = inner.execute(never);
        innerResult = track(call);
        return call;
      }),
    );

    await vi.advanceTimersByTimeAsync(500);

    expect(result.settled).toBe(true);
    expect(innerResult?.settled).toBe(true);
    expect(isTimeoutError(innerResult?.error)).toBe(true);
    expect((innerResult?.error as TimeoutError | undefined)?.scope).toBe('deadline');
  });

  it('a retry backoff never sleeps past the inherited deadline', async () => {
    const p = make({ timeout: false, totalTimeout: false, retry: { budget: false }, circuitBreaker: false });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    const failure = Object.assign(new Error('busy'), { retryAfterMs: 2_000 });
    const fn = vi.fn(() => Promise.reject(failure));

    const result = track(runWithDeadline(1_000, () => p.execute(fn)));
    await vi.advanceTimersByTimeAsync(0);

    expect(result.error).toBe(failure);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(events.some((e) => e.kind === 'give-up')).toBe(true);
  });

  it('emits timeout from the pipeline when the inherited deadline runs out', async () => {
    const p = make({ timeout: 10_000, retry: false, circuitBreaker: false });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    const result = track(runWithDeadline(500, () => p.execute(never)));
    await vi.advanceTimersByTimeAsync(500);

    expect(events.find((e) => e.kind === 'timeout')).toMatchObject({
      pipeline: 'deadline-test',
      policy: 'pipeline',
      durationS: 0.5,
      error: result.error,
    });
  });

  it('a composed retry gives up at once when the hint overruns the deadline', async () => {
    const p = make(compose(retry({ budget: false, maxAttempts: 3 })));
    const failure = Object.assign(new Error('busy'), { retryAfterMs: 2_000 });
    const fn = vi.fn(() => Promise.reject(failure));

    const result = track(runWithDeadline(1_000, () => p.execute(fn)));
    await vi.advanceTimersByTimeAsync(0);

    expect(result.error).toBe(failure);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('deadline helpers', () => {
  it('getDeadline and remainingMs are undefined outside any deadline', () => {
    expect(getDeadline()).toBeUndefined();
    expect(remainingMs()).toBeUndefined();
  });

  it('setDeadline only ever brings a deadline nearer', () => {
    const near = setDeadline(ROOT_CONTEXT, 100);
    expect(getDeadline(setDeadline(near, 500))).toBe(100);
    expect(getDeadline(setDeadline(near, 50))).toBe(50);
  });

  it('remainingMs goes negative once the deadline has passed', async () => {
    const ctx = setDeadline(ROOT_CONTEXT, performance.now() + 100);
    await vi.advanceTimersByTimeAsync(150);

    expect(remainingMs(ctx)).toBe(-50);
  });

  it('reads the deadline from the active context by default', () => {
    const ctx = setDeadline(ROOT_CONTEXT, performance.now() + 250);
    expect(context.with(ctx, () => remainingMs())).toBe(250);
  });

  it('msUntil measures from now on the performance.now() clock', async () => {
    const instant = performance.now() + 1_000;
    await vi.advanceTimersByTimeAsync(400);

    expect(msUntil(instant)).toBe(600);
  });
});
