import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  bulkhead,
  circuitBreaker,
  compose,
  type ExecuteContext,
  type Pipeline,
  pipeline,
  rateLimit,
  retry,
  retryBudget,
} from './index.js';

// Captured before any test fakes the timers: lets a step drain every pending promise job.
const realSetImmediate = setImmediate;
const settle = () => new Promise<void>((resolve) => realSetImmediate(resolve));

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

interface Controlled {
  readonly promise: Promise<unknown>;
  resolve(): void;
  reject(): void;
  done: boolean;
}

/** A call body like real I/O given its signal: settles when told to, or rejects with the signal's reason on abort. */
function controlledCall(ctx: ExecuteContext, onEnd: () => void): Controlled {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise((res, rej) => {
    resolve = () => res('ok');
    reject = rej;
  });
  const entry: Controlled = {
    promise,
    done: false,
    resolve() {
      if (entry.done) return;
      entry.done = true;
      onEnd();
      resolve();
    },
    reject() {
      if (entry.done) return;
      entry.done = true;
      onEnd();
      reject(new Error('dependency failed'));
    },
  };
  ctx.signal.addEventListener(
    'abort',
    () => {
      if (entry.done) return;
      entry.done = true;
      onEnd();
      reject(ctx.signal.reason);
    },
    { once: true },
  );
  return entry;
}

describe('circuit breaker properties', () => {
  type Op =
    | { kind: 'start' }
    | { kind: 'settle'; index: number; ok: boolean }
    | { kind: 'advance'; ms: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.constant<Op>({ kind: 'start' }), weight: 4 },
    {
      arbitrary: fc.record({ kind: fc.constant('settle' as const), index: fc.nat(40), ok: fc.boolean() }),
      weight: 4,
    },
    {
      arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 1_500 }) }),
      weight: 1,
    },
  );
  const next: Record<string, Record<string, string>> = {
    closed: { break: 'open' },
    open: { 'half-open': 'half-open' },
    'half-open': { reset: 'closed', break: 'open' },
  };

  it('never skips a state (closed → open → half-open → closed | open) and never admits more than the probes while half-open', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(op, { minLength: 20, maxLength: 100 }),
        async (standard, failures, probes, ops) => {
          const options = { consecutiveFailures: failures, breakDurationMs: 1_000, halfOpenProbes: probes };
          const p: Pipeline = standard
            ? pipeline('prop-breaker', {
                timeout: false,
                totalTimeout: false,
                retry: false,
                circuitBreaker: options,
              })
            : pipeline('prop-breaker', compose(circuitBreaker(options)));
          const log: string[] = [];
          p.onEvent((e) => {
            if (e.policy === 'circuit-breaker' && e.kind !== 'reject') log.push(e.kind);
          });
          const calls: Controlled[] = [];
          try {
            for (const o of ops) {
              if (o.kind === 'start') {
                void p
                  .execute((ctx) => {
                    log.push('start');
                    const c = controlledCall(ctx, () => {});
                    calls.push(c);
                    return c.promise;
                  })
                  .catch(() => undefined);
              } else if (o.kind === 'settle') {
                const open = calls.filter((c) => !c.done);
                const c = open[o.index % Math.max(1, open.length)];
                if (c !== undefined) (o.ok ? c.resolve : c.reject)();
              } else {
                await vi.advanceTimersByTimeAsync(o.ms);
              }
              await settle();
            }

            let state = 'closed';
            let admittedWhileHalfOpen = 0;
            for (const entry of log) {
              if (entry === 'start') {
                if (state === 'half-open') admittedWhileHalfOpen++;
                expect(admittedWhileHalfOpen).toBeLessThanOrEqual(probes);
                continue;
              }
              const to = next[state]?.[entry];
              expect(to, `${entry} while ${state}`).toBeDefined();
              state = to!;
              admittedWhileHalfOpen = 0;
            }
          } finally {
            p.dispose();
            for (const c of calls) c.resolve();
            vi.clearAllTimers();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('bulkhead properties', () => {
  type Op =
    | { kind: 'start'; abortable: boolean }
    | { kind: 'complete'; index: number; ok: boolean }
    | { kind: 'abort'; index: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ kind: fc.constant('start' as const), abortable: fc.boolean() }),
    fc.record({ kind: fc.constant('complete' as const), index: fc.nat(40), ok: fc.boolean() }),
    fc.record({ kind: fc.constant('abort' as const), index: fc.nat(40) }),
  );

  it('never runs more than maxConcurrent nor queues more than maxQueue, and never runs an aborted waiter', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(op, { minLength: 10, maxLength: 80 }),
        async (standard, maxConcurrent, maxQueue, ops) => {
          const p: Pipeline = standard
            ? pipeline('prop-bulkhead', {
                timeout: false,
                totalTimeout: false,
                retry: false,
                circuitBreaker: false,
                bulkhead: { maxConcurrent, maxQueue },
              })
            : pipeline('prop-bulkhead', compose(bulkhead({ maxConcurrent, maxQueue })));
          let running = 0;
          let peak = 0;
          const started: Controlled[] = [];
          const calls: { controller: AbortController; started: boolean; abortedBeforeStart: boolean }[] = [];
          const abortable: typeof calls = [];
          try {
            for (const o of ops) {
              if (o.kind === 'start') {
                const call = { controller: new AbortController(), started: false, abortedBeforeStart: false };
                calls.push(call);
                if (o.abortable) abortable.push(call);
                void p
                  .execute(
                    (ctx) => {
                      call.started = true;
                      running++;
                      peak = Math.max(peak, running);
                      const c = controlledCall(ctx, () => running--);
                      started.push(c);
                      return c.promise;
                    },
                    o.abortable ? { signal: call.controller.signal } : {},
                  )
                  .catch(() => undefined);
              } else if (o.kind === 'complete') {
                const open = started.filter((c) => !c.done);
                const c = open[o.index % Math.max(1, open.length)];
                if (c !== undefined) (o.ok ? c.resolve : c.reject)();
              } else {
                const call = abortable[o.index % Math.max(1, abortable.length)];
                if (call !== undefined && !call.controller.signal.aborted) {
                  if (!call.started) call.abortedBeforeStart = true;
                  call.controller.abort();
                }
              }
              await settle();

              const { bulkheadInFlight, bulkheadQueued } = p.stats;
              expect(peak).toBeLessThanOrEqual(maxConcurrent);
              expect(bulkheadInFlight).toBeLessThanOrEqual(maxConcurrent);
              expect(bulkheadQueued).toBeLessThanOrEqual(maxQueue);
              expect(bulkheadInFlight).toBe(running);
              // Work-conserving: nobody waits while a slot is free.
              if ((bulkheadInFlight ?? 0) < maxConcurrent) expect(bulkheadQueued).toBe(0);
            }
            expect(calls.filter((c) => c.abortedBeforeStart && c.started)).toEqual([]);
          } finally {
            p.dispose();
            for (const c of started) c.resolve();
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('retry budget properties', () => {
  it('keeps tokens within [0, maxTokens] and allows a retry exactly while a whole token is left', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0.001, max: 10, noNaN: true }),
        fc.array(fc.boolean(), { maxLength: 200 }),
        (maxTokens, tokenRatio, outcomes) => {
          const budget = retryBudget({ maxTokens, tokenRatio });
          for (const success of outcomes) {
            if (success) budget.onSuccess();
            else if (budget.canRetry()) budget.onRetry();
            expect(budget.tokens).toBeGreaterThanOrEqual(0);
            expect(budget.tokens).toBeLessThanOrEqual(maxTokens);
            expect(budget.canRetry()).toBe(budget.tokens >= 1);
          }
        },
      ),
    );
  });

  it('never allows more retries than the reserve plus tokenRatio per success', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0.001, max: 10, noNaN: true }),
        fc.array(fc.boolean(), { maxLength: 200 }),
        (maxTokens, tokenRatio, outcomes) => {
          const budget = retryBudget({ maxTokens, tokenRatio });
          let retries = 0;
          let successes = 0;
          for (const success of outcomes) {
            if (success) {
              successes++;
              budget.onSuccess();
            } else if (budget.canRetry()) {
              retries++;
              budget.onRetry();
            }
          }
          expect(retries).toBeLessThanOrEqual(maxTokens + tokenRatio * successes);
        },
      ),
    );
  });
});

describe('retry properties', () => {
  it('never calls fn more than maxAttempts times, and stops at the first success', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.boolean(), { maxLength: 10 }),
        async (standard, maxAttempts, successes) => {
          const options = { maxAttempts, budget: false as const, baseDelayMs: 10, maxDelayMs: 50 };
          const p: Pipeline = standard
            ? pipeline('prop-retry', {
                timeout: false,
                totalTimeout: false,
                circuitBreaker: false,
                retry: options,
              })
            : pipeline('prop-retry', compose(retry(options)));
          let calls = 0;
          const outcome = p
            .execute(() => (successes[calls++] === true ? 'ok' : Promise.reject(new Error('down'))))
            .then(
              () => 'ok',
              () => 'failed',
            );
          await vi.advanceTimersByTimeAsync(10_000);
          const firstSuccess = successes.indexOf(true);
          const expected = firstSuccess >= 0 && firstSuccess < maxAttempts ? firstSuccess + 1 : maxAttempts;

          expect(calls).toBeLessThanOrEqual(maxAttempts);
          expect(calls).toBe(expected);
          expect(await outcome).toBe(firstSuccess >= 0 && firstSuccess < maxAttempts ? 'ok' : 'failed');
          p.dispose();
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('rate limit properties', () => {
  it('never admits more than burst + limit × elapsed / intervalMs calls', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 10, max: 1_000 }),
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 60 }),
        async (limit, intervalMs, burst, gaps) => {
          const limiter = rateLimit({ limit, intervalMs, burst });
          const start = performance.now();
          let admitted = 0;
          for (const gap of gaps) {
            await vi.advanceTimersByTimeAsync(gap);
            if (limiter.tryAcquire() === 0) admitted++;
            const elapsed = performance.now() - start;
            expect(admitted).toBeLessThanOrEqual(burst + (limit * elapsed) / intervalMs + 1e-9);
          }
        },
      ),
    );
  });
});
