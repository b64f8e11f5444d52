import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BulkheadFullError,
  type BulkheadOptions,
  bulkhead,
  compose,
  isBulkheadFullError,
  isCancelledError,
  isTimeoutError,
  type Pipeline,
  pipeline,
  type ResilienceEvent,
  runWithDeadline,
  totalTimeout,
} from './index.js';
import { deferred, track } from './testing/support.js';

const made: Pipeline[] = [];

/** The same bulkhead on both paths a pipeline can take: the standard (fused) one and a composed chain. */
const variants: [string, (options: BulkheadOptions, totalMs?: number) => Pipeline][] = [
  [
    'standard pipeline',
    (options, totalMs) => {
      const p = pipeline('bulkhead-test', {
        timeout: false,
        totalTimeout: totalMs ?? false,
        retry: false,
        circuitBreaker: false,
        bulkhead: options,
      });
      made.push(p);
      return p;
    },
  ],
  [
    'composed pipeline',
    (options, totalMs) => {
      const policy =
        totalMs === undefined
          ? compose(bulkhead(options))
          : compose(totalTimeout(totalMs), bulkhead(options));
      const p = pipeline('bulkhead-test', policy);
      made.push(p);
      return p;
    },
  ],
];

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.useRealTimers();
});

describe.each(variants)('bulkhead in a %s', (_variant, make) => {
  describe('DESIGN §4 guarantee 5: a queued call whose signal aborts leaves the queue at once', () => {
    it('drops the queued count at once and rejects the aborted call with CancelledError', async () => {
      const p = make({ maxConcurrent: 1, maxQueue: 1 });
      const gate = deferred<string>();
      track(p.execute(() => gate.promise));
      const controller = new AbortController();
      const queuedFn = vi.fn(() => 'late');
      const queued = track(p.execute(queuedFn, { signal: controller.signal }));
      await vi.advanceTimersByTimeAsync(0);
      expect(p.stats.bulkheadQueued).toBe(1);

      controller.abort();

      expect(p.stats.bulkheadQueued).toBe(0); // synchronously, not when a slot frees
      await vi.advanceTimersByTimeAsync(0);
      expect(queued.settled).toBe(true);
      expect(isCancelledError(queued.error)).toBe(true);
      gate.resolve('done');
      await vi.advanceTimersByTimeAsync(0);
      expect(queuedFn).not.toHaveBeenCalled();
    });

    it('gives the freed slot to the next waiter, never to the aborted one', async () => {
      const p = make({ maxConcurrent: 1, maxQueue: 2 });
      const gate = deferred<string>();
      track(p.execute(() => gate.promise));
      const controller = new AbortController();
      const abortedFn = vi.fn(() => 'aborted');
      const nextFn = vi.fn(() => 'next');
      track(p.execute(abortedFn, { signal: controller.signal }));
      const next = track(p.execute(nextFn));
      await vi.advanceTimersByTimeAsync(0);

      controller.abort();
      gate.resolve('done');
      await vi.advanceTimersByTimeAsync(0);

      expect(next.value).toBe('next');
      expect(abortedFn).not.toHaveBeenCalled();
      expect(p.stats.bulkheadInFlight).toBe(0);
    });

    it('leaves room in the queue for a newcomer once a waiter aborts', async () => {
      const p = make({ maxConcurrent: 1, maxQueue: 1 });
      const gate = deferred<string>();
      track(p.execute(() => gate.promise));
      const controller = new AbortController();
      track(p.execute(() => 'x', { signal: controller.signal }));
      await vi.advanceTimersByTimeAsync(0);

      controller.abort();
      const newcomer = track(p.execute(() => 'newcomer'));
      await vi.advanceTimersByTimeAsync(0);

      expect(newcomer.settled).toBe(false); // queued, not rejected as full
      expect(p.stats.bulkheadQueued).toBe(1);
      gate.resolve('done');
      await vi.advanceTimersByTimeAsync(0);
      expect(newcomer.value).toBe('newcomer');
    });
  });

  it('runs at most maxConcurrent calls at once', async () => {
    const p = make({ maxConcurrent: 2, maxQueue: 10 });
    let running = 0;
    let peak = 0;
    const fn = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 100));
      running--;
    };
    const all = Promise.all(Array.from({ length: 6 }, () => p.execute(fn)));
    await vi.advanceTimersByTimeAsync(1_000);
    await all;

    expect(peak).toBe(2);
  });

  it('rejects with BulkheadFullError at once when every slot and queue place is taken', async () => {
    const p = make({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred<string>();
    track(p.execute(() => gate.promise));
    track(p.execute(() => 'queued'));
    const fn = vi.fn(() => 'rejected');

    const result = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(0);

    expect(result.error).toBeInstanceOf(BulkheadFullError);
    expect(isBulkheadFullError(result.error)).toBe(true);
    expect((result.error as BulkheadFullError).maxConcurrent).toBe(1);
    expect((result.error as BulkheadFullError).maxQueue).toBe(1);
    expect(fn).not.toHaveBeenCalled();
    gate.resolve('done');
  });

  it('runs queued calls in arrival order', async () => {
    const p = make({ maxConcurrent: 1, maxQueue: 3 });
    const gate = deferred<string>();
    const order: string[] = [];
    track(p.execute(() => gate.promise));
    const all = Promise.all(['a', 'b', 'c'].map((id) => p.execute(() => order.push(id))));
    await vi.advanceTimersByTimeAsync(0);

    gate.resolve('done');
    await all;

    expect(order).toEqual(['a', 'b', 'c']);
  });

  it('hands a freed slot to the queue before a newcomer', async () => {
    const p = make({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred<string>();
    const order: string[] = [];
    track(p.execute(() => gate.promise));
    const waiter = p.execute(() => order.push('waiter'));
    await vi.advanceTimersByTimeAsync(0);

    gate.resolve('done');
    await vi.advanceTimersByTimeAsync(0);
    const newcomer = p.execute(() => order.push('newcomer'));
    await Promise.all([waiter, newcomer]);

    expect(order).toEqual(['waiter', 'newcomer']);
  });

  it('frees the slot when a call fails', async () => {
    const p = make({ maxConcurrent: 1 });
    await expect(p.execute(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');

    await expect(p.execute(() => 'ok')).resolves.toBe('ok');
    expect(p.stats.bulkheadInFlight).toBe(0);
  });

  it('frees the slot when fn throws synchronously', async () => {
    const p = make({ maxConcurrent: 1 });
    await expect(
      p.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');

    await expect(p.execute(() => 'ok')).resolves.toBe('ok');
  });

  it('takes a queued call out of the queue when its deadline fires', async () => {
    const p = make({ maxConcurrent: 1, maxQueue: 1 });
    const gate = deferred<string>();
    track(p.execute(() => gate.promise));
    const queuedFn = vi.fn(() => 'late');
    const queued = track(runWithDeadline(300, () => p.execute(queuedFn)));
    await vi.advanceTimersByTimeAsync(0);
    expect(p.stats.bulkheadQueued).toBe(1);

    await vi.advanceTimersByTimeAsync(300);

    expect(isTimeoutError(queued.error)).toBe(true);
    expect(p.stats.bulkheadQueued).toBe(0);
    gate.resolve('done');
    await vi.advanceTimersByTimeAsync(0);
    expect(queuedFn).not.toHaveBeenCalled();
  });

  it('reports running and queued calls in stats', async () => {
    const p = make({ maxConcurrent: 2, maxQueue: 5 });
    const gate = deferred<string>();
    const all = Promise.all(Array.from({ length: 5 }, () => p.execute(() => gate.promise)));
    await vi.advanceTimersByTimeAsync(0);

    expect(p.stats.bulkheadInFlight).toBe(2);
    expect(p.stats.bulkheadQueued).toBe(3);
    gate.resolve('done');
    await all;
    expect(p.stats.bulkheadInFlight).toBe(0);
    expect(p.stats.bulkheadQueued).toBe(0);
  });

  it('emits queued for a waiting call and reject for a refused one', async () => {
    const p = make({ maxConcurrent: 1, maxQueue: 1 });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    const gate = deferred<string>();
    track(p.execute(() => gate.promise));
    track(p.execute(() => 'queued'));
    const refused = track(p.execute(() => 'refused'));
    await vi.advanceTimersByTimeAsync(0);

    expect(events.filter((e) => e.policy === 'bulkhead').map((e) => e.kind)).toEqual(['queued', 'reject']);
    expect(events.find((e) => e.kind === 'reject')).toMatchObject({
      pipeline: 'bulkhead-test',
      policy: 'bulkhead',
      error: refused.error,
    });
    gate.resolve('done');
  });
});

describe('bulkhead shared between pipelines', () => {
  it('takes a queued call out of the queue when its total timeout fires', async () => {
    const shared = bulkhead({ maxConcurrent: 1, maxQueue: 1 });
    const holder = pipeline('bulkhead-holder', compose(shared));
    const bounded = pipeline('bulkhead-bounded', compose(totalTimeout(300), shared));
    made.push(holder, bounded);
    const gate = deferred<string>();
    track(holder.execute(() => gate.promise));
    const queuedFn = vi.fn(() => 'late');
    const queued = track(bounded.execute(queuedFn));
    await vi.advanceTimersByTimeAsync(0);
    expect(shared.queued).toBe(1);

    await vi.advanceTimersByTimeAsync(300);

    expect(isTimeoutError(queued.error)).toBe(true);
    expect(shared.queued).toBe(0);
    gate.resolve('done');
    await vi.advanceTimersByTimeAsync(0);
    expect(queuedFn).not.toHaveBeenCalled();
  });
});

describe('bulkhead options', () => {
  it('defaults maxQueue to 0, so the queue is bounded', async () => {
    expect(bulkhead({ maxConcurrent: 1 }).maxQueue).toBe(0);
    const p = pipeline('bulkhead-default', { bulkhead: { maxConcurrent: 1 } });
    made.push(p);
    const gate = deferred<string>();
    track(p.execute(() => gate.promise));

    await expect(p.execute(() => 'x')).rejects.toBeInstanceOf(BulkheadFullError);
    gate.resolve('done');
  });

  it.each([
    [undefined, TypeError, ['maxConcurrent', 'received undefined']],
    [{}, TypeError, ['maxConcurrent', 'received undefined']],
    [{ maxConcurrent: 0 }, RangeError, ['maxConcurrent', '1 to', 'received 0']],
    [{ maxConcurrent: 2.5 }, RangeError, ['maxConcurrent', 'received 2.5']],
    [{ maxConcurrent: 1, maxQueue: -1 }, RangeError, ['maxQueue', 'received -1']],
    [{ maxConcurrent: 1, maxQueue: Number.POSITIVE_INFINITY }, RangeError, ['maxQueue', 'received Infinity']],
    [{ maxConcurrent: 1, queue: 5 }, TypeError, ['queue', 'maxQueue']],
  ])('rejects %o at construction, naming the option, the range and the value', (options, type, parts) => {
    let thrown: unknown;
    try {
      bulkhead(options as never);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(type);
    for (const part of parts) expect((thrown as Error).message).toContain(part);
  });
});
