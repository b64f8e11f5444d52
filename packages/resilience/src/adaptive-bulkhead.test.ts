import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AdaptiveLimitOptions,
  bulkhead,
  compose,
  isBulkheadFullError,
  type Pipeline,
  pipeline,
  type ResilienceEvent,
  TimeoutError,
  timeout,
} from './index.js';

const made: Pipeline[] = [];

function make(name: string, adaptive: AdaptiveLimitOptions, timeoutMs: number | false = false): Pipeline {
  const p = pipeline(name, {
    timeout: timeoutMs,
    totalTimeout: false,
    retry: false,
    circuitBreaker: false,
    bulkhead: { adaptive },
  });
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

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs `n` calls of `ms` each at once and waits for all of them. */
async function wave(p: Pipeline, n: number, ms: number): Promise<PromiseSettledResult<unknown>[]> {
  const calls = Promise.allSettled(Array.from({ length: n }, () => p.execute(() => wait(ms))));
  await vi.advanceTimersByTimeAsync(ms);
  return calls;
}

describe('adaptive bulkhead, AIMD', () => {
  it('grows by one per success while the limit is in use, and not while idle', async () => {
    const p = make('aimd-grow', { algorithm: 'aimd', initialLimit: 4, maxLimit: 50 });
    expect(p.stats.concurrencyLimit).toBe(4);
    // The calls that started with at least half the limit in flight (the 2nd, 3rd and 4th) each add one.
    await wave(p, 4, 10);
    expect(p.stats.concurrencyLimit).toBe(7);
    // One call at a time uses less than half the limit: it teaches nothing about capacity.
    for (let i = 0; i < 5; i++) await wave(p, 1, 10);
    expect(p.stats.concurrencyLimit).toBe(7);
  });

  it('halves on a timeout of the dependency, and ignores other failures', async () => {
    const p = make('aimd-halve', { algorithm: 'aimd', initialLimit: 16 }, 50);
    const slow = expect(p.execute(() => wait(1_000))).rejects.toBeInstanceOf(TimeoutError);
    await vi.advanceTimersByTimeAsync(50);
    await slow;
    expect(p.stats.concurrencyLimit).toBe(8);
    await expect(
      p.execute(() => {
        throw new Error('bad request');
      }),
    ).rejects.toThrow('bad request');
    expect(p.stats.concurrencyLimit).toBe(8);
  });

  it('rejects calls beyond the current limit with BulkheadFullError', async () => {
    const p = make('aimd-full', { algorithm: 'aimd', initialLimit: 2 });
    const running = [p.execute(() => wait(10)), p.execute(() => wait(10))];
    const error = await p.execute(() => 'never').catch((e: unknown) => e);
    expect(isBulkheadFullError(error)).toBe(true);
    expect(p.stats.bulkheadInFlight).toBe(2);
    await vi.advanceTimersByTimeAsync(10);
    await Promise.all(running);
  });

  it('admits as many queued calls as a grown limit frees, in arrival order', async () => {
    const q = pipeline('aimd-queue', {
      timeout: false,
      totalTimeout: false,
      retry: false,
      circuitBreaker: false,
      bulkhead: { adaptive: { algorithm: 'aimd', initialLimit: 2 }, maxQueue: 4 },
    });
    made.push(q);
    const order: number[] = [];
    const calls = Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        q.execute(async () => {
          order.push(i);
          await wait(10);
        }),
      ),
    );
    expect(q.stats).toMatchObject({ bulkheadInFlight: 2, bulkheadQueued: 4 });
    // The first two succeed with the limit in use: 2 → 3 → 4, and each freed slot goes to the queue.
    await vi.advanceTimersByTimeAsync(10);
    expect(q.stats).toMatchObject({ concurrencyLimit: 4, bulkheadInFlight: 4, bulkheadQueued: 0 });
    await vi.advanceTimersByTimeAsync(10);
    await calls;
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('reports a material change with a limit event, at most once a second', async () => {
    const p = make('aimd-events', { algorithm: 'aimd', initialLimit: 10, maxLimit: 100 });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => {
      if (e.kind === 'limit') events.push(e);
    });
    await wave(p, 10, 10); // 10 → 16 within 10 ms: one event, at the first material change (11)
    expect(events).toEqual([expect.objectContaining({ policy: 'bulkhead', previousLimit: 10, limit: 11 })]);
    await wave(p, 20, 10); // within the same second: nothing more
    expect(events).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await wave(p, 20, 10);
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({ previousLimit: 11 });
    expect((events[1] as { limit: number }).limit).toBeGreaterThan(11);
  });
});

describe('adaptive bulkhead, gradient', () => {
  it('backs off when the latency rises', async () => {
    const p = make('gradient-backoff', { algorithm: 'gradient', initialLimit: 40, queueSize: 2 });
    for (let i = 0; i < 5; i++) await wave(p, 40, 10);
    const before = p.stats.concurrencyLimit!;
    expect(before).toBeGreaterThanOrEqual(40);
    for (let i = 0; i < 5; i++) await wave(p, 40, 40);
    expect(p.stats.concurrencyLimit!).toBeLessThan(before * 0.75);
  });

  it('works in a composed pipeline too, where the attempt timeout is a drop', async () => {
    const policy = bulkhead({ adaptive: { algorithm: 'gradient', initialLimit: 10, minLimit: 2 } });
    const p = pipeline('gradient-composed', compose(policy, timeout(20)));
    made.push(p);
    const calls = Array.from({ length: 10 }, () => p.execute(() => wait(100)).catch(() => undefined));
    await vi.advanceTimersByTimeAsync(20);
    await Promise.all(calls);
    expect(policy.concurrencyLimit).toBeLessThan(10);
    expect(p.stats.concurrencyLimit).toBe(policy.concurrencyLimit);
  });
});

describe('adaptive bulkhead options', () => {
  it.each([
    [
      { adaptive: { algorithm: 'vegas' } },
      "option bulkhead.adaptive.algorithm must be one of 'aimd', 'gradient', received \"vegas\"",
    ],
    [
      { adaptive: { minLimit: 0 } },
      'option bulkhead.adaptive.minLimit must be an integer from 1 to 100000, received 0',
    ],
    [
      { adaptive: { minLimit: 10, maxLimit: 5 } },
      'option bulkhead.adaptive.maxLimit must be at least minLimit (10), received 5',
    ],
    [
      { adaptive: { maxLimit: 10, initialLimit: 20 } },
      'option bulkhead.adaptive.initialLimit must be an integer from 1 to 10, received 20',
    ],
    [
      { adaptive: { smoothing: 0 } },
      'option bulkhead.adaptive.smoothing must be a number from 0.01 to 1, received 0',
    ],
    [
      { adaptive: { algorithm: 'aimd', backoffRatio: 1 } },
      'option bulkhead.adaptive.backoffRatio must be a number from 0.1 to 0.99, received 1',
    ],
    [
      { adaptive: { algorithm: 'aimd', smoothing: 0.5 } },
      "option bulkhead.adaptive.smoothing must be absent with algorithm 'aimd', received 0.5",
    ],
    [{ adaptive: { limt: 3 } }, 'unknown option "bulkhead.adaptive.limt"'],
    [
      { adaptive: {}, maxConcurrent: 4 },
      'option bulkhead.maxConcurrent cannot be combined with bulkhead.adaptive',
    ],
    [{ adaptive: 5 }, 'option bulkhead.adaptive must be an options object, received 5'],
  ])('rejects %j at construction', (options, message) => {
    expect(() => pipeline('adaptive-options', { bulkhead: options as never })).toThrow(message);
  });

  it('a fixed bulkhead exports no concurrency limit', () => {
    const p = pipeline('fixed-limit', { bulkhead: { maxConcurrent: 4 } });
    made.push(p);
    expect(p.stats.concurrencyLimit).toBeUndefined();
    expect(bulkhead({ maxConcurrent: 4 }).concurrencyLimit).toBeUndefined();
  });
});

describe('adaptive bulkhead properties', () => {
  it('the limit always stays within [minLimit, maxLimit]', async () => {
    const options = fc
      .record({
        algorithm: fc.constantFrom('aimd' as const, 'gradient' as const),
        minLimit: fc.integer({ min: 1, max: 20 }),
        span: fc.integer({ min: 0, max: 40 }),
        at: fc.double({ min: 0, max: 1, noNaN: true }),
      })
      .map(({ algorithm, minLimit, span, at }) => ({
        algorithm,
        minLimit,
        maxLimit: minLimit + span,
        initialLimit: minLimit + Math.floor(at * span),
      }));
    // Each step: a wave of calls of a latency, some of which time out.
    const step = fc.record({
      n: fc.integer({ min: 1, max: 60 }),
      ms: fc.integer({ min: 1, max: 80 }),
      timeouts: fc.boolean(),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(options, fc.array(step, { minLength: 1, maxLength: 12 }), async (adaptive, steps) => {
        const p = make(`adaptive-bounds-${run++}`, adaptive, 50);
        const seen: number[] = [p.stats.concurrencyLimit!];
        for (const { n, ms, timeouts } of steps) {
          const calls = Array.from({ length: n }, () =>
            p.execute(() => wait(timeouts ? ms + 50 : ms)).catch(() => undefined),
          );
          await vi.advanceTimersByTimeAsync(ms + 50);
          await Promise.all(calls);
          seen.push(p.stats.concurrencyLimit!);
        }
        p.dispose();
        for (const limit of seen) {
          expect(limit).toBeGreaterThanOrEqual(adaptive.minLimit);
          expect(limit).toBeLessThanOrEqual(adaptive.maxLimit);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('under a dependency whose latency rises past a knee of K calls, the gradient limit settles near K', async () => {
    const scenario = fc.record({
      knee: fc.integer({ min: 5, max: 30 }),
      baseMs: fc.integer({ min: 5, max: 40 }),
      initialLimit: fc.integer({ min: 1, max: 150 }),
      clients: fc.integer({ min: 3, max: 4 }), // × knee closed-loop clients: always more demand than capacity
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ knee, baseMs, initialLimit, clients }) => {
        const p = make(`adaptive-knee-${run++}`, { algorithm: 'gradient', maxLimit: 200, initialLimit });
        // latency = base up to `knee` calls at once, base × c / knee beyond it.
        let active = 0;
        const dependency = async (): Promise<void> => {
          active++;
          await wait(active <= knee ? baseMs : (baseMs * active) / knee);
          active--;
        };
        let stop = false;
        const client = async (): Promise<void> => {
          while (!stop) {
            try {
              await p.execute(dependency);
            } catch (error) {
              if (!isBulkheadFullError(error)) throw error;
              await wait(1);
            }
          }
        };
        const loops = Array.from({ length: clients * knee }, client);
        await vi.advanceTimersByTimeAsync(baseMs * 150);
        const settled: number[] = [];
        for (let i = 0; i < 20; i++) {
          await vi.advanceTimersByTimeAsync(baseMs * 5);
          settled.push(p.stats.concurrencyLimit!);
        }
        stop = true;
        await vi.advanceTimersByTimeAsync(baseMs * 10);
        await Promise.all(loops);
        p.dispose();
        const mean = settled.reduce((a, b) => a + b, 0) / settled.length;
        expect(mean).toBeGreaterThanOrEqual(0.5 * knee);
        expect(mean).toBeLessThanOrEqual(2 * knee);
      }),
      { numRuns: 6 },
    );
  }, 120_000);
});
