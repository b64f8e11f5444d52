// What the default pipeline does for a flaky dependency and for a dead one, measured on fake time with
// seeded randomness (the failures and the backoff jitter), so every run sees the same calls.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type PipelineOptions, pipeline } from './index.js';
import { seeded } from './testing/seeded.js';

interface Load {
  /** Calls made, one every `1000 / perSecond` ms. */
  calls: number;
  perSecond: number;
  /** Chance that one attempt fails, independently of the others. */
  failureRate: number;
  /** How long each attempt takes, in ms. */
  latencyMs?: number;
}

/** Runs `calls` calls through a pipeline at a steady rate; returns the successes and the attempts sent. */
async function drive(options: PipelineOptions, load: Load) {
  const p = pipeline('defaults-under-load', options);
  const failures = seeded(7);
  const latencyMs = load.latencyMs ?? 20;
  let attempts = 0;
  let successes = 0;
  const attempt = () => {
    attempts++;
    const fails = failures() < load.failureRate;
    return new Promise<string>((resolve, reject) =>
      setTimeout(() => (fails ? reject(new Error('503 from the dependency')) : resolve('ok')), latencyMs),
    );
  };
  const interval = 1000 / load.perSecond;
  const settled: Promise<unknown>[] = [];
  for (let i = 0; i < load.calls; i++) {
    settled.push(
      p.execute(attempt).then(
        () => successes++,
        () => undefined,
      ),
    );
    await vi.advanceTimersByTimeAsync(interval);
  }
  await vi.advanceTimersByTimeAsync(60_000);
  await Promise.all(settled);
  p.dispose();
  return { successRate: successes / load.calls, amplification: attempts / load.calls };
}

beforeEach(() => {
  vi.useFakeTimers();
  // The backoff's full jitter draws from Math.random.
  vi.spyOn(Math, 'random').mockImplementation(seeded(11));
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('the default pipeline', () => {
  it.each([1, 10, 100, 1000])(
    'succeeds within one point of what three attempts allow at 30 % independent failures, at %d calls a second',
    async (perSecond) => {
      const { successRate } = await drive(
        { retry: { maxAttempts: 3 } },
        { calls: 3_000, perSecond, failureRate: 0.3 },
      );
      expect(successRate).toBeGreaterThanOrEqual(1 - 0.3 ** 3 - 0.01);
    },
  );

  it.each([1, 10, 1000])(
    'sends at most 1.2 times the calls made to a dependency in a full outage, at %d calls a second',
    async (perSecond) => {
      const { amplification } = await drive(
        { retry: { maxAttempts: 3 } },
        { calls: 3_000, perSecond, failureRate: 1 },
      );
      expect(amplification).toBeLessThanOrEqual(1.2);
    },
  );
});

// The README's recipe for a dependency whose errors are brief and independent.
const TRANSIENT: PipelineOptions = { retry: { maxAttempts: 4, baseDelayMs: 10 } };

describe("the README's recipe for brief, independent errors (4 attempts, 10 ms base delay)", () => {
  it.each([1, 10, 100, 1000])(
    'succeeds at least 99 % of the time at 30 % independent failures, at %d calls a second',
    async (perSecond) => {
      const { successRate } = await drive(TRANSIENT, { calls: 3_000, perSecond, failureRate: 0.3 });
      expect(successRate).toBeGreaterThanOrEqual(0.99);
    },
  );

  it.each([1, 10, 1000])(
    'still sends at most 1.2 times the calls made in a full outage, at %d calls a second',
    async (perSecond) => {
      const { amplification } = await drive(TRANSIENT, { calls: 3_000, perSecond, failureRate: 1 });
      expect(amplification).toBeLessThanOrEqual(1.2);
    },
  );
});
