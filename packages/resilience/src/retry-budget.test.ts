import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { compose, pipeline, type ResilienceEvent, retry, retryBudget } from './index.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('retryBudget', () => {
  it('starts full with 20 tokens and earns 0.5 per success by default', () => {
    const budget = retryBudget();
    expect(budget.maxTokens).toBe(20);
    expect(budget.tokenRatio).toBe(0.5);
    expect(budget.tokens).toBe(20);
  });

  it('charges one token per retry', () => {
    const budget = retryBudget({ maxTokens: 10 });
    budget.onRetry();
    budget.onRetry();
    expect(budget.tokens).toBe(8);
  });

  it('earns tokenRatio per successful call', () => {
    const budget = retryBudget({ maxTokens: 10, tokenRatio: 0.5 });
    budget.onRetry();
    budget.onSuccess();
    expect(budget.tokens).toBe(9.5);
  });

  it('allows a retry only while a whole token is left', () => {
    const budget = retryBudget({ maxTokens: 2, tokenRatio: 0.5 });
    budget.onRetry();
    expect(budget.canRetry()).toBe(true);
    budget.onRetry();
    expect(budget.canRetry()).toBe(false);
    budget.onSuccess();
    expect(budget.canRetry()).toBe(false); // half a token
    budget.onSuccess();
    expect(budget.canRetry()).toBe(true);
  });

  it('never drops below zero however many retries are charged', () => {
    const budget = retryBudget({ maxTokens: 3 });
    for (let i = 0; i < 10; i++) budget.onRetry();
    expect(budget.tokens).toBe(0);
  });

  it('never grows above maxTokens however many calls succeed', () => {
    const budget = retryBudget({ maxTokens: 3, tokenRatio: 1 });
    for (let i = 0; i < 10; i++) budget.onSuccess();
    expect(budget.tokens).toBe(3);
  });

  it.each([
    [{ maxTokens: 0 }, RangeError, ['maxTokens', '1', 'received 0']],
    [{ maxTokens: 'many' }, TypeError, ['maxTokens', 'received "many"']],
    [{ tokenRatio: 0 }, RangeError, ['tokenRatio', '0.001', 'received 0']],
    [{ tokenRatio: 11 }, RangeError, ['tokenRatio', 'received 11']],
    [{ minRetriesPerSecond: 1 }, TypeError, ['unknown option "minRetriesPerSecond"']],
  ])('rejects invalid options %o naming the option, the range and the value', (options, type, parts) => {
    expect(() => retryBudget(options as never)).toThrow(type);
    try {
      retryBudget(options as never);
    } catch (error) {
      for (const part of parts) expect((error as Error).message).toContain(part);
    }
  });
});

describe('retry budget in a pipeline', () => {
  it('does not retry a failing call once the budget is drained, and says why with budget-exhausted', async () => {
    const budget = retryBudget({ maxTokens: 10 });
    for (let i = 0; i < 10; i++) budget.onRetry(); // spent
    const p = pipeline('budget', compose(retry({ maxAttempts: 5, budget })));
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    const failure = new Error('down');
    const fn = vi.fn(() => Promise.reject(failure));

    const result = expect(p.execute(fn)).rejects.toBe(failure);
    await vi.advanceTimersByTimeAsync(60_000);
    await result;

    expect(fn).toHaveBeenCalledTimes(1);
    const exhausted = events.filter((e) => e.kind === 'budget-exhausted');
    expect(exhausted).toHaveLength(1);
    expect(exhausted[0]).toMatchObject({ policy: 'retry', pipeline: 'budget', attempt: 1, error: failure });
    expect(events.some((e) => e.kind === 'retry')).toBe(false);
  });

  it('keeps total calls within about 1.2 × the calls during a total outage (no retry storm)', async () => {
    const p = pipeline('storm', { circuitBreaker: false });
    const fn = vi.fn(() => Promise.reject(new Error('503')));
    const calls = 200;

    const all = Promise.allSettled(Array.from({ length: calls }, () => p.execute(fn)));
    await vi.advanceTimersByTimeAsync(60_000);
    const outcomes = await all;

    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
    expect(fn.mock.calls.length).toBeLessThanOrEqual(calls * 1.2);
    p.dispose();
  });

  it('keeps total calls within the budget when calls arrive one after another during an outage', async () => {
    const p = pipeline('storm-seq', { circuitBreaker: false });
    const fn = vi.fn(() => Promise.reject(new Error('503')));
    const calls = 100;

    for (let i = 0; i < calls; i++) {
      const done = p.execute(fn).catch(() => undefined);
      await vi.advanceTimersByTimeAsync(10_000);
      await done;
    }

    expect(fn.mock.calls.length).toBeLessThanOrEqual(calls * 1.2);
    p.dispose();
  });

  it('shares one budget between pipelines that call the same destination', async () => {
    const budget = retryBudget({ maxTokens: 2 });
    const a = pipeline('dest-a', compose(retry({ maxAttempts: 3, budget })));
    const b = pipeline('dest-b', compose(retry({ maxAttempts: 3, budget })));
    const fn = vi.fn(() => Promise.reject(new Error('down')));

    const first = a.execute(fn).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(10_000);
    await first;
    fn.mockClear();
    const second = b.execute(fn).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(10_000);
    await second;

    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('reports the budget tokens in pipeline stats', async () => {
    const p = pipeline('budget-stats', { circuitBreaker: false, retry: { budget: { maxTokens: 20 } } });
    expect(p.stats.budgetTokens).toBe(20);
    const done = p.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(60_000);
    await done;
    expect(p.stats.budgetTokens).toBe(18); // two retries
    p.dispose();
  });
});
