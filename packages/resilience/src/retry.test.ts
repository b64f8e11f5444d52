import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BulkheadFullError,
  CancelledError,
  CircuitOpenError,
  compose,
  type ExecuteContext,
  isCancelledError,
  type Pipeline,
  pipeline,
  RateLimitedError,
  retry,
  runWithDeadline,
  TimeoutError,
  timeout,
  totalTimeout,
} from './index.js';
import { record, track } from './testing/support.js';

const made: Pipeline[] = [];

function retrying(options: Parameters<typeof retry>[0] = {}): Pipeline {
  const p = pipeline('retry-test', compose(retry({ budget: false, ...options })));
  made.push(p);
  return p;
}

const withHint = (ms: number, message = 'busy') => Object.assign(new Error(message), { retryAfterMs: ms });

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('DESIGN §4 guarantee 1: maxAttempts counts attempts, the first included', () => {
  it('calls fn at most 3 times when maxAttempts is 3', async () => {
    const fn = vi.fn(() => Promise.reject(new Error('down')));
    const result = track(retrying({ maxAttempts: 3 }).execute(fn));

    await vi.advanceTimersByTimeAsync(600_000);

    expect(result.settled).toBe(true);
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('calls fn exactly once when maxAttempts is 1', async () => {
    const fn = vi.fn(() => Promise.reject(new Error('down')));
    const result = track(retrying({ maxAttempts: 1 }).execute(fn));

    await vi.advanceTimersByTimeAsync(600_000);

    expect(result.settled).toBe(true);
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('DESIGN §4 guarantee 2: a backoff sleep ends at once on abort, and no further call is made', () => {
  it('rejects with CancelledError the moment the caller aborts during the backoff, and never calls fn again', async () => {
    const controller = new AbortController();
    const fn = vi.fn(() => Promise.reject(withHint(10_000)));
    const result = track(retrying({ maxAttempts: 5 }).execute(fn, { signal: controller.signal }));
    await vi.advanceTimersByTimeAsync(0);
    expect(fn).toHaveBeenCalledTimes(1);

    controller.abort();
    await vi.advanceTimersByTimeAsync(0); // microtasks only: no time passes

    expect(result.settled).toBe(true);
    expect(isCancelledError(result.error)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('gives up at once with the real failure when the backoff would overrun the total timeout', async () => {
    const p = pipeline(
      'retry-deadline',
      compose(totalTimeout(1_000), retry({ budget: false, maxAttempts: 5 })),
    );
    made.push(p);
    const events = record(p);
    const failure = withHint(5_000);
    const fn = vi.fn(() => Promise.reject(failure));

    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(0);

    expect(result.error).toBe(failure);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(events.find((e) => e.kind === 'give-up')).toMatchObject({ error: failure, delayMs: 5_000 });
  });
});

describe('retry', () => {
  it('passes the attempt number, from 1, to each call', async () => {
    const attempts: number[] = [];
    const result = track(
      retrying({ maxAttempts: 3 }).execute((ctx: ExecuteContext) => {
        attempts.push(ctx.attempt);
        return Promise.reject(new Error('down'));
      }),
    );
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.settled).toBe(true);
    expect(attempts).toEqual([1, 2, 3]);
  });

  it('resolves with the first successful attempt and stops retrying', async () => {
    const fn = vi.fn().mockRejectedValueOnce(new Error('blip')).mockResolvedValue('ok');
    const result = track(retrying({ maxAttempts: 5 }).execute(fn));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.value).toBe('ok');
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it("gives up with the last attempt's own error, untouched", async () => {
    const errors = [new Error('first'), new Error('second'), new Error('third')];
    let i = 0;
    const result = track(retrying({ maxAttempts: 3 }).execute(() => Promise.reject(errors[i++])));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.error).toBe(errors[2]);
    expect((result.error as Error).message).toBe('third');
  });

  it('emits give-up with the last error when the attempts run out', async () => {
    const p = retrying({ maxAttempts: 2 });
    const events = record(p);
    const last = new Error('last');
    const fn = vi.fn().mockRejectedValueOnce(new Error('first')).mockRejectedValueOnce(last);
    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.error).toBe(last);
    const giveUps = events.filter((e) => e.kind === 'give-up');
    expect(giveUps).toHaveLength(1);
    expect(giveUps[0]).toMatchObject({ pipeline: 'retry-test', policy: 'retry', attempt: 2, error: last });
  });

  it('waits an error’s own retryAfterMs before the next attempt', async () => {
    const fn = vi.fn().mockRejectedValueOnce(withHint(700)).mockResolvedValue('ok');
    const result = track(retrying({ maxAttempts: 2 }).execute(fn));

    await vi.advanceTimersByTimeAsync(699);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fn).toHaveBeenCalledTimes(2);
    expect(result.value).toBe('ok');
  });

  it('waits the retryAfter option’s hint before retrying a result', async () => {
    const fn = vi
      .fn()
      .mockResolvedValueOnce({ status: 503, retryAfter: 2_000 })
      .mockResolvedValue({ status: 200 });
    const result = track(
      retrying({
        maxAttempts: 2,
        retryOn: (o) => o.ok && (o.result as { status: number }).status === 503,
        retryAfter: (o) => (o.ok ? (o.result as { retryAfter?: number }).retryAfter : undefined),
      }).execute(fn),
    );

    await vi.advanceTimersByTimeAsync(1_999);
    expect(fn).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(result.value).toEqual({ status: 200 });
  });

  it('gives up at once with the last error when the hint is longer than the inherited deadline allows', async () => {
    const p = retrying({ maxAttempts: 3 });
    const failure = withHint(60_000);
    const fn = vi.fn(() => Promise.reject(failure));

    const result = track(runWithDeadline(5_000, () => p.execute(fn)));
    await vi.advanceTimersByTimeAsync(0);

    expect(result.error).toBe(failure);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('retries a result that retryOn accepts', async () => {
    const fn = vi.fn().mockResolvedValueOnce({ status: 503 }).mockResolvedValue({ status: 200 });
    const result = track(
      retrying({
        maxAttempts: 3,
        retryOn: (o) => o.ok && (o.result as { status: number }).status >= 500,
      }).execute(fn),
    );
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.value).toEqual({ status: 200 });
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('resolves with the last result when the attempts run out on retried results', async () => {
    let n = 0;
    const result = track(
      retrying({ maxAttempts: 3, retryOn: (o) => o.ok }).execute(() =>
        Promise.resolve({ status: 503, n: ++n }),
      ),
    );
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.value).toEqual({ status: 503, n: 3 });
  });

  it('does not retry an error that retryOn refuses', async () => {
    const failure = new Error('400 bad request');
    const fn = vi.fn(() => Promise.reject(failure));
    const result = track(retrying({ maxAttempts: 3, retryOn: (o) => o.ok }).execute(fn));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.error).toBe(failure);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['CircuitOpenError', () => new CircuitOpenError('open', 1_000)],
    ['CancelledError', () => new CancelledError('gone')],
    ['BulkheadFullError', () => new BulkheadFullError(1, 0)],
    ['RateLimitedError', () => new RateLimitedError(10)],
  ])('does not retry a %s by default', async (_name, make) => {
    const error = make();
    const fn = vi.fn(() => Promise.reject(error));
    const result = track(retrying({ maxAttempts: 3 }).execute(fn));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.error).toBe(error);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('retries an attempt that timed out', async () => {
    const p = pipeline('retry-timeout', compose(retry({ budget: false, maxAttempts: 2 }), timeout(100)));
    made.push(p);
    const fn = vi
      .fn()
      .mockImplementationOnce(() => new Promise(() => {}))
      .mockResolvedValue('ok');
    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(10_000);

    expect(result.value).toBe('ok');
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('never retries a CancelledError, even when retryOn accepts every outcome', async () => {
    const error = new CancelledError('gone');
    const fn = vi.fn(() => Promise.reject(error));
    const result = track(retrying({ maxAttempts: 3, retryOn: () => true }).execute(fn));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.error).toBe(error);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('never retries a CircuitOpenError, even when retryOn accepts every outcome', async () => {
    const error = new CircuitOpenError('open', 5_000);
    const fn = vi.fn(() => Promise.reject(error));
    const result = track(retrying({ maxAttempts: 3, retryOn: () => true }).execute(fn));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.error).toBe(error);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('draws each delay with full jitter from [0, baseDelayMs × 2^(n-1)]', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const p = retrying({ maxAttempts: 5, baseDelayMs: 100 });
    const events = record(p);
    const result = track(p.execute(() => Promise.reject(new Error('down'))));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.settled).toBe(true);
    expect(events.filter((e) => e.kind === 'retry').map((e) => e.delayMs)).toEqual([50, 100, 200, 400]);
  });

  it('caps each backoff delay at maxDelayMs', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
    const p = retrying({ maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1_000 });
    const events = record(p);
    const result = track(p.execute(() => Promise.reject(new Error('down'))));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.settled).toBe(true);
    const delays = events.filter((e) => e.kind === 'retry').map((e) => e.delayMs ?? Number.NaN);
    expect(delays).toHaveLength(9);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1_000);
    expect(delays.at(-1)).toBeGreaterThan(900);
  });

  it('emits a retry event with the failed attempt, its error and the delay', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const p = retrying({ maxAttempts: 2, baseDelayMs: 200 });
    const events = record(p);
    const failure = new Error('down');
    const result = track(p.execute(() => Promise.reject(failure)));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.settled).toBe(true);
    expect(events.find((e) => e.kind === 'retry')).toEqual({
      pipeline: 'retry-test',
      policy: 'retry',
      kind: 'retry',
      attempt: 1,
      durationS: 0,
      error: failure,
      delayMs: 100,
    });
  });

  it('rejects a timed-out whole call with TimeoutError rather than retrying it', async () => {
    const p = pipeline('retry-total', compose(totalTimeout(500), retry({ budget: false, maxAttempts: 5 })));
    made.push(p);
    const fn = vi.fn(() => new Promise(() => {}));
    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(60_000);

    expect(result.error).toBeInstanceOf(TimeoutError);
    expect((result.error as TimeoutError).scope).toBe('total');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it.each([
    [{ maxAttempts: 0 }, RangeError, ['maxAttempts', '1 to 100', 'received 0']],
    [{ baseDelayMs: 0 }, RangeError, ['baseDelayMs', 'received 0']],
    [{ baseDelayMs: 500, maxDelayMs: 100 }, RangeError, ['maxDelayMs', '500', 'received 100']],
    [{ retryOn: 'always' }, TypeError, ['retryOn', 'function', 'received "always"']],
    [{ attempts: 3 }, TypeError, ['attempts', 'maxAttempts']],
  ])(
    'rejects invalid options %o at construction, naming the option, the range and the value',
    (options, type, parts) => {
      let thrown: unknown;
      try {
        retry(options as never);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(type);
      for (const part of parts) expect((thrown as Error).message).toContain(part);
    },
  );
});
