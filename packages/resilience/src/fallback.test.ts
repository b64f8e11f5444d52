import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CancelledError,
  compose,
  fallback,
  isCancelledError,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  RateLimitedError,
  type ResilienceEvent,
  retry,
} from './index.js';

const made: Pipeline[] = [];

function make(options: PipelineOptions | ReturnType<typeof compose>): Pipeline {
  const p = pipeline('fallback-test', options);
  made.push(p);
  return p;
}

const bare = { timeout: false, totalTimeout: false, retry: false, circuitBreaker: false } as const;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.useRealTimers();
});

describe('fallback', () => {
  it('answers a failed call with the fallback value', async () => {
    const p = make({ ...bare, fallback: 'cached' });
    await expect(p.execute(() => Promise.reject(new Error('down')))).resolves.toBe('cached');
  });

  it('calls a fallback function with the error and answers with what it returns', async () => {
    const failure = new Error('down');
    const answer = vi.fn((error: unknown) => `fallback for ${(error as Error).message}`);
    const p = make({ ...bare, fallback: answer });

    await expect(p.execute(() => Promise.reject(failure))).resolves.toBe('fallback for down');
    expect(answer).toHaveBeenCalledWith(failure);
  });

  it('waits for a fallback function that returns a promise', async () => {
    const p = make(compose(fallback(() => Promise.resolve('async fallback'))));
    await expect(p.execute(() => Promise.reject(new Error('down')))).resolves.toBe('async fallback');
  });

  it('passes a successful result through untouched', async () => {
    const result = { id: 1 };
    const p = make({ ...bare, fallback: 'cached' });
    await expect(p.execute(() => result)).resolves.toBe(result);
  });

  it('does not answer a call its caller cancelled', async () => {
    const p = make({ ...bare, fallback: 'cached' });
    const controller = new AbortController();
    const pending = p.execute(() => new Promise(() => {}), { signal: controller.signal });
    controller.abort();

    const error = await pending.catch((e: unknown) => e);
    expect(isCancelledError(error)).toBe(true);
  });

  it('does not answer a CancelledError thrown by fn', async () => {
    const p = make(compose(fallback('cached')));
    const cancelled = new CancelledError('gone');
    await expect(p.execute(() => Promise.reject(cancelled))).rejects.toBe(cancelled);
  });

  it('answers a local rejection too, since it is the outermost policy', async () => {
    const p = make({ ...bare, rateLimit: { limit: 1, intervalMs: 60_000 }, fallback: (e: unknown) => e });
    await p.execute(() => 'first');
    await expect(p.execute(() => 'second')).resolves.toBeInstanceOf(RateLimitedError);
  });

  it('answers only after the retries give up', async () => {
    const p = make(compose(fallback('cached'), retry({ maxAttempts: 3, budget: false })));
    const fn = vi.fn(() => Promise.reject(new Error('down')));
    const result = p.execute(fn);
    await vi.advanceTimersByTimeAsync(60_000);

    await expect(result).resolves.toBe('cached');
    expect(fn).toHaveBeenCalledTimes(3);
  });

  it('emits fallback with the error it answered for', async () => {
    const p = make({ ...bare, fallback: 'cached' });
    const events: ResilienceEvent[] = [];
    p.onEvent((e) => events.push(e));
    const failure = new Error('down');
    await p.execute(() => Promise.reject(failure));

    expect(events.find((e) => e.kind === 'fallback')).toMatchObject({
      pipeline: 'fallback-test',
      policy: 'fallback',
      error: failure,
    });
  });
});
