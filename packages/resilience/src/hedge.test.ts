import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CircuitOpenError,
  compose,
  type ExecuteContext,
  type HedgePolicy,
  hedge,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  type ResilienceEvent,
  retry,
  retryBudget,
  timeout,
} from './index.js';
import { record, track } from './testing/support.js';

const made: Pipeline[] = [];
let seq = 0;

function make(options: PipelineOptions | ReturnType<typeof compose>): Pipeline {
  const p = pipeline(`hedge-test-${seq++}`, options);
  made.push(p);
  return p;
}

/** A dependency whose nth attempt answers `values[n-1]` after `latencies[n-1]` ms (never when undefined). */
function dependency(latencies: (number | undefined)[], fail: boolean[] = []) {
  const seen: ExecuteContext[] = [];
  const fn = (ctx: ExecuteContext) => {
    seen.push(ctx);
    const n = seen.length;
    const signal = ctx.signal;
    return new Promise((resolve, reject) => {
      const ms = latencies[n - 1];
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      if (ms === undefined) return;
      setTimeout(() => (fail[n - 1] ? reject(new Error(`attempt ${n} failed`)) : resolve(`answer ${n}`)), ms);
    });
  };
  return { fn, seen };
}

const kinds = (events: ResilienceEvent[]) =>
  events.filter((e) => e.policy === 'hedge').map((e) => `${e.kind}:${e.attempt}`);

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.useRealTimers();
});

describe('hedge', () => {
  it('starts a second attempt after delayMs, takes its answer and aborts the first', async () => {
    const p = make(compose(hedge({ delayMs: 100, budget: false })));
    const events = record(p);
    const dep = dependency([undefined, 20]);
    const call = track(p.execute(dep.fn));

    await vi.advanceTimersByTimeAsync(99);
    expect(dep.seen).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(21);

    expect(call.value).toBe('answer 2');
    expect(dep.seen.map((ctx) => ctx.attempt)).toEqual([1, 2]);
    expect(dep.seen[0]!.signal.aborted).toBe(true);
    expect(dep.seen[1]!.signal.aborted).toBe(false);
    expect(kinds(events)).toEqual(['hedge:2', 'hedge-won:2']);
    expect(events.find((e) => e.kind === 'hedge')?.delayMs).toBe(100);
  });

  it('sends one attempt and reports no hedge when the first answers within the delay', async () => {
    const p = make(compose(hedge({ delayMs: 100, budget: false })));
    const events = record(p);
    const dep = dependency([50]);
    const call = track(p.execute(dep.fn));
    await vi.advanceTimersByTimeAsync(1_000);

    expect(call.value).toBe('answer 1');
    expect(dep.seen).toHaveLength(1);
    expect(kinds(events)).toEqual([]);
  });

  it('hedges up to maxHedged times, one delay apart, and says when the first attempt won after all', async () => {
    const p = make(compose(hedge({ delayMs: 100, maxHedged: 2, budget: false })));
    const events = record(p);
    const dep = dependency([250, undefined, undefined]);
    const call = track(p.execute(dep.fn));
    await vi.advanceTimersByTimeAsync(1_000);

    expect(call.value).toBe('answer 1');
    expect(dep.seen).toHaveLength(3);
    expect(dep.seen.slice(1).every((ctx) => ctx.signal.aborted)).toBe(true);
    expect(kinds(events)).toEqual(['hedge:2', 'hedge:3', 'hedge-won:1']);
  });

  it('waits for the attempts still running when one fails, and answers with the first success', async () => {
    const p = make(compose(hedge({ delayMs: 100, budget: false })));
    const dep = dependency([150, 100], [true, false]);
    const call = track(p.execute(dep.fn));
    await vi.advanceTimersByTimeAsync(160);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    expect(call.value).toBe('answer 2');
  });

  it('rejects with the dependency’s failure when every attempt failed, not a local rejection', async () => {
    const p = make(compose(hedge({ delayMs: 100, budget: false })));
    let n = 0;
    const call = track(
      p.execute(() => {
        n++;
        if (n === 2) return Promise.reject(new CircuitOpenError('open', 1_000));
        return new Promise((_, reject) => setTimeout(() => reject(new Error('dependency down')), 300));
      }),
    );
    await vi.advanceTimersByTimeAsync(400);
    expect((call.error as Error).message).toBe('dependency down');
  });

  it('never hedges a call made with idempotent: false', async () => {
    const p = make(compose(hedge({ delayMs: 100, budget: false })));
    const dep = dependency([300]);
    const call = track(p.execute(dep.fn, { idempotent: false }));
    await vi.advanceTimersByTimeAsync(300);
    expect(call.value).toBe('answer 1');
    expect(dep.seen).toHaveLength(1);
  });

  it('derives the delay from the chosen percentile of recent successful attempts, with delayMs until enough are held', async () => {
    const h = hedge({ delayMs: 500, delay: { percentile: 0.9, window: 10, minSamples: 10 }, budget: false });
    const p = make(compose(h));
    for (let i = 1; i <= 9; i++) {
      const call = p.execute(() => new Promise((resolve) => setTimeout(resolve, i * 10)));
      await vi.advanceTimersByTimeAsync(i * 10);
      await call;
    }
    expect(h.delayMs).toBe(500);
    const tenth = p.execute(() => new Promise((resolve) => setTimeout(resolve, 100)));
    await vi.advanceTimersByTimeAsync(100);
    await tenth;
    expect(h.delayMs).toBe(90); // nearest rank: the 9th of 10, 10…100 ms

    const events = record(p);
    const dep = dependency([undefined, 1]);
    const call = track(p.execute(dep.fn));
    await vi.advanceTimersByTimeAsync(89);
    expect(dep.seen).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2);
    expect(call.value).toBe('answer 2');
    expect(events.find((e) => e.kind === 'hedge')?.delayMs).toBe(90);
  });

  it('forgets latencies older than the window', async () => {
    const h = hedge({ delay: { percentile: 0.5, window: 4, minSamples: 1 }, budget: false });
    const p = make(compose(h));
    for (const ms of [1_000, 1_000, 1_000, 1_000, 10, 10, 10, 10]) {
      const call = p.execute(() => new Promise((resolve) => setTimeout(resolve, ms)));
      await vi.advanceTimersByTimeAsync(ms);
      await call;
    }
    expect(h.delayMs).toBe(10);
  });

  it('starts no hedge once the budget has no token left, and says so', async () => {
    const budget = retryBudget({ maxTokens: 1 });
    const p = make(compose(hedge({ delayMs: 100, budget })));
    const events = record(p);
    const first = dependency([undefined, 10]);
    await Promise.all([p.execute(first.fn), vi.advanceTimersByTimeAsync(200)]);
    expect(first.seen).toHaveLength(2);
    expect(budget.tokens).toBe(0);

    const second = dependency([300]);
    const call = track(p.execute(second.fn));
    await vi.advanceTimersByTimeAsync(300);
    expect(call.value).toBe('answer 1');
    expect(second.seen).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'budget-exhausted').map((e) => e.policy)).toEqual(['hedge']);
  });

  it('credits a budget of its own with its successful calls', async () => {
    const h = hedge({ delayMs: 100, budget: { maxTokens: 2, tokenRatio: 0.5 } });
    const p = make(compose(h));
    const dep = dependency([undefined, 10]);
    await Promise.all([p.execute(dep.fn), vi.advanceTimersByTimeAsync(200)]);
    expect(h.budget?.tokens).toBe(1.5);
  });

  it('gives each hedged attempt its own timeout and numbers a retry after the round past the hedges', async () => {
    const p = make(
      compose(
        retry({ maxAttempts: 2, baseDelayMs: 1, budget: false }),
        hedge({ delayMs: 50, budget: false }),
        timeout(80),
      ),
    );
    const dep = dependency([undefined, undefined, 5]);
    const call = track(p.execute(dep.fn));
    await vi.advanceTimersByTimeAsync(500);
    expect(call.value).toBe('answer 3');
    expect(dep.seen.map((ctx) => ctx.attempt)).toEqual([1, 2, 3]);
  });
});

describe('pipeline({ hedge })', () => {
  it('places the hedge inside the retry, outside the breaker, bulkhead and attempt timeout', () => {
    const p = make({ hedge: { delayMs: 100 }, bulkhead: { maxConcurrent: 4 } });
    expect(p.policies.map((policy) => policy.name)).toEqual([
      'total-timeout',
      'retry',
      'hedge',
      'circuit-breaker',
      'bulkhead',
      'timeout',
    ]);
  });

  it('defaults the delay to half a short attempt timeout', () => {
    const p = make({ timeout: 1_000, hedge: {} });
    expect((p.policies.find((policy) => policy.name === 'hedge') as HedgePolicy).delayMs).toBe(500);
  });

  it('spends the retry budget on hedged attempts', async () => {
    const p = make({ timeout: 1_000, hedge: { delayMs: 100 }, retry: { budget: { maxTokens: 5 } } });
    const dep = dependency([undefined, 10]);
    const call = track(p.execute(dep.fn));
    await vi.advanceTimersByTimeAsync(200);
    expect(call.value).toBe('answer 2');
    expect(p.stats.budgetTokens).toBe(4.5); // one token for the hedge, half of one back for the success
  });

  it('treats a result the retry would retry as not acceptable while another attempt runs', async () => {
    const p = make({
      timeout: 1_000,
      retry: { maxAttempts: 1, retryOn: (o) => o.ok && o.result === 'answer 1' },
      hedge: { delayMs: 100 },
    });
    const dep = dependency([150, 100]);
    const call = track(p.execute(dep.fn));
    await vi.advanceTimersByTimeAsync(300);
    expect(call.value).toBe('answer 2');
  });

  it.each([
    [
      { hedge: { maxHedged: 0 } },
      'pipeline "hedge-options": option hedge.maxHedged must be an integer from 1 to 10, received 0',
    ],
    [
      { hedge: { delay: { percentile: 1.5 } } },
      'pipeline "hedge-options": option hedge.delay.percentile must be a number from 0.01 to 0.999, received 1.5',
    ],
    [
      { hedge: { delayMs: -1 } },
      'pipeline "hedge-options": option hedge.delayMs must be an integer from 0 to 2147483647, received -1',
    ],
    [
      { timeout: 100, hedge: { delayMs: 100 } },
      'pipeline "hedge-options": option hedge.delayMs must be less than timeout (100 ms), received 100',
    ],
    [
      { hedge: { delayMs: 10, delay: { percentile: 0.9, minSamples: 200 } } },
      'option hedge.delay.minSamples must be an integer from 1 to 100, received 200',
    ],
    [
      { hedge: { delayMS: 10 } },
      'unknown option "hedge.delayMS"; expected one of maxHedged, delayMs, delay, budget, accept',
    ],
    [{ hedge: { accept: true } }, 'option hedge.accept must be a function, received true'],
  ] as [PipelineOptions, string][])('rejects %j at construction', (options, message) => {
    expect(() => pipeline('hedge-options', options).dispose()).toThrow(message);
  });

  it('names the standalone factory in its messages', () => {
    expect(() => hedge({ maxHedged: 11 })).toThrow(
      'hedge: option maxHedged must be an integer from 1 to 10, received 11',
    );
  });
});

describe('hedge properties', () => {
  const attemptArb = fc.record({
    ms: fc.option(fc.integer({ min: 0, max: 300 }), { nil: undefined }),
    ok: fc.boolean(),
  });

  it('never has more than 1 + maxHedged attempts in flight, aborts every loser, and answers with what an attempt produced', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 120 }),
        fc.array(attemptArb, { minLength: 5, maxLength: 5 }),
        fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
        async (maxHedged, delayMs, plan, tokens) => {
          const budget = tokens === undefined ? false : retryBudget({ maxTokens: Math.max(1, tokens) });
          const p = make(compose(hedge({ maxHedged, delayMs, budget })));
          let inFlight = 0;
          let most = 0;
          const produced = new Set<unknown>();
          const signals: AbortSignal[] = [];
          const fn = (ctx: ExecuteContext) => {
            const n = signals.length + 1;
            const { ms, ok } = plan[n - 1]!;
            signals.push(ctx.signal);
            inFlight++;
            most = Math.max(most, inFlight);
            return new Promise((resolve, reject) => {
              let done = false;
              const end = () => {
                done = true;
                inFlight--;
              };
              ctx.signal.addEventListener('abort', () => {
                if (done) return;
                end();
                reject(ctx.signal.reason);
              });
              if (ms === undefined) return;
              setTimeout(() => {
                if (done) return;
                end();
                const value = `answer ${n}`;
                if (ok) {
                  produced.add(value);
                  resolve(value);
                } else {
                  const error = new Error(`attempt ${n} failed`);
                  produced.add(error);
                  reject(error);
                }
              }, ms);
            });
          };
          const call = track(p.execute(fn));
          await vi.advanceTimersByTimeAsync(2_000);
          // Checked before dispose(), which would abort whatever is left.
          const aborted = signals.map((signal) => signal.aborted);
          p.dispose();
          await vi.advanceTimersByTimeAsync(0);

          expect(most).toBeLessThanOrEqual(1 + maxHedged);
          if (budget !== false) expect(signals.length - 1).toBeLessThanOrEqual(Math.max(1, tokens!));
          if (call.error === undefined && call.settled) {
            expect(produced.has(call.value)).toBe(true);
            const winner = Number((call.value as string).split(' ')[1]);
            expect(aborted).toEqual(signals.map((_, i) => i + 1 !== winner));
          } else if (call.settled && produced.size > 0 && !(call.error as Error).name.includes('Cancelled')) {
            expect(produced.has(call.error)).toBe(true);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
