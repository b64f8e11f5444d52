import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  compose,
  isCancelledError,
  isRateLimitedError,
  type Pipeline,
  pipeline,
  RateLimitedError,
  type RateLimitOptions,
  type ResilienceEvent,
  rateLimit,
  runWithDeadline,
} from './index.js';
import { track } from './testing/support.js';

const made: Pipeline[] = [];

/** The same limiter on both paths a pipeline can take: the standard (fused) one and a composed chain. */
const variants: [string, (options: RateLimitOptions) => Pipeline][] = [
  [
    'standard pipeline',
    (options) => {
      const p = pipeline('rate-test', {
        timeout: false,
        totalTimeout: false,
        retry: false,
        circuitBreaker: false,
        rateLimit: options,
      });
      made.push(p);
      return p;
    },
  ],
  [
    'composed pipeline',
    (options) => {
      const p = pipeline('rate-test', compose(rateLimit(options)));
      made.push(p);
      return p;
    },
  ],
];

const ok = () => 'ok';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.useRealTimers();
});

describe.each(variants)('rate limit in a %s', (_variant, make) => {
  it('admits limit calls at once, then rejects with RateLimitedError', async () => {
    const p = make({ limit: 2, intervalMs: 1_000 });
    await expect(p.execute(ok)).resolves.toBe('ok');
    await expect(p.execute(ok)).resolves.toBe('ok');
    const fn = vi.fn(ok);

    const error = await p.execute(fn).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RateLimitedError);
    expect(isRateLimitedError(error)).toBe(true);
    expect(fn).not.toHaveBeenCalled();
  });

  it('says in retryAfterMs when the next token is due', async () => {
    const p = make({ limit: 2, intervalMs: 1_000 });
    await p.execute(ok);
    await p.execute(ok);

    const error = await p.execute(ok).catch((e: unknown) => e);

    expect((error as RateLimitedError).retryAfterMs).toBe(500);
  });

  it('admits a call again once retryAfterMs has passed', async () => {
    const p = make({ limit: 2, intervalMs: 1_000 });
    await p.execute(ok);
    await p.execute(ok);
    const error = (await p.execute(ok).catch((e: unknown) => e)) as RateLimitedError;

    await vi.advanceTimersByTimeAsync(error.retryAfterMs);

    await expect(p.execute(ok)).resolves.toBe('ok');
  });

  it('refills continuously rather than all at once at the end of the interval', async () => {
    const p = make({ limit: 4, intervalMs: 1_000 });
    for (let i = 0; i < 4; i++) await p.execute(ok);

    await vi.advanceTimersByTimeAsync(250);

    await expect(p.execute(ok)).resolves.toBe('ok');
    await expect(p.execute(ok)).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('lets at most burst calls through at once after a quiet spell', async () => {
    const p = make({ limit: 1, intervalMs: 100, burst: 3 });
    await vi.advanceTimersByTimeAsync(10_000);

    const results = await Promise.allSettled([1, 2, 3, 4].map(() => p.execute(ok)));

    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
  });

  it('with maxWaitMs, waits for a token due in time and then runs', async () => {
    const p = make({ limit: 1, intervalMs: 1_000, maxWaitMs: 1_000 });
    await p.execute(ok);
    const fn = vi.fn(ok);

    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(999);
    expect(fn).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);

    expect(result.value).toBe('ok');
  });

  it('with maxWaitMs, rejects at once when the next free token is due later than that', async () => {
    const p = make({ limit: 1, intervalMs: 1_000, maxWaitMs: 1_000 });
    await p.execute(ok);
    track(p.execute(ok)); // waits for the token due at 1 s

    const error = await p.execute(ok).catch((e: unknown) => e);

    expect(isRateLimitedError(error)).toBe(true);
    expect((error as RateLimitedError).retryAfterMs).toBe(2_000);
  });

  it('gives a waiting call’s reserved token back when its caller aborts', async () => {
    const p = make({ limit: 1, intervalMs: 1_000, maxWaitMs: 5_000 });
    await p.execute(ok);
    const controller = new AbortController();
    const abortedFn = vi.fn(ok);
    const aborted = track(p.execute(abortedFn, { signal: controller.signal }));
    await vi.advanceTimersByTimeAsync(0);

    controller.abort();
    await vi.advanceTimersByTimeAsync(0);
    expect(isCancelledError(aborted.error)).toBe(true);

    const nextFn = vi.fn(ok);
    const next = track(p.execute(nextFn));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(next.value).toBe('ok'); // at 1 s, not 2 s
    expect(abortedFn).not.toHaveBeenCalled();
  });

  it('never waits past the caller’s deadline', async () => {
    const p = make({ limit: 1, intervalMs: 1_000, maxWaitMs: 5_000 });
    await p.execute(ok);
    const fn = vi.fn(ok);

    const result = track(runWithDeadline(500, () => p.execute(fn)));
    await vi.advanceTimersByTimeAsync(0);

    expect(isRateLimitedError(result.error)).toBe(true);
    expect(fn).not.toHaveBeenCalled();
  });

  it('keeps no timer running while idle', async () => {
    const p = make({ limit: 5, intervalMs: 1_000 });
    await p.execute(ok);

    expect(vi.getTimerCount()).toBe(0);
  });

  it('emits reject with the RateLimitedError', async () => {
    const p = make({ limit: 1, intervalMs: 1_000 });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    await p.execute(ok);
    const error = await p.execute(ok).catch((e: unknown) => e);

    expect(events.find((e) => e.kind === 'reject')).toMatchObject({
      pipeline: 'rate-test',
      policy: 'rate-limit',
      attempt: 1,
      error,
    });
  });
});

describe('rateLimit policy', () => {
  it('tryAcquire takes a token without waiting, or says how long until one is due', () => {
    const limiter = rateLimit({ limit: 2, intervalMs: 1_000 });

    expect(limiter.tryAcquire()).toBe(0);
    expect(limiter.tryAcquire()).toBe(0);
    expect(limiter.tryAcquire()).toBe(500);
  });

  it('reports the tokens available now', async () => {
    const limiter = rateLimit({ limit: 10, intervalMs: 1_000 });
    limiter.tryAcquire();
    limiter.tryAcquire();
    expect(limiter.tokens).toBe(8);

    await vi.advanceTimersByTimeAsync(100);
    expect(limiter.tokens).toBeCloseTo(9);
  });

  it('defaults burst to limit', async () => {
    const limiter = rateLimit({ limit: 3, intervalMs: 1_000 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(limiter.tokens).toBe(3);
  });

  it.each([
    [undefined, TypeError, ['limit', 'received undefined']],
    [{ limit: 0 }, RangeError, ['limit', '1 to', 'received 0']],
    [{ limit: 'ten' }, TypeError, ['limit', 'received "ten"']],
    [{ limit: 10, intervalMs: 0 }, RangeError, ['intervalMs', 'received 0']],
    [{ limit: 10, burst: 0 }, RangeError, ['burst', 'received 0']],
    [{ limit: 10, maxWaitMs: -1 }, RangeError, ['maxWaitMs', 'received -1']],
    [{ limit: 10, perSecond: 5 }, TypeError, ['perSecond', 'limit']],
  ])('rejects %o at construction, naming the option, the range and the value', (options, type, parts) => {
    let thrown: unknown;
    try {
      rateLimit(options as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(type);
    for (const part of parts) expect((thrown as Error).message).toContain(part);
  });
});
