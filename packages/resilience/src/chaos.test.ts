import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ChaosOptions,
  chaos,
  compose,
  type ExecuteContext,
  isTimeoutError,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  timeout,
} from './index.js';
import { seeded } from './testing/seeded.js';
import { record, track } from './testing/support.js';

const made: Pipeline[] = [];
let seq = 0;

function make(options: PipelineOptions | ReturnType<typeof compose>): Pipeline {
  const p = pipeline(`chaos-test-${seq++}`, options);
  made.push(p);
  return p;
}

const draws = (...values: number[]) => {
  const queue = [...values];
  return vi.fn(() => queue.shift() ?? 0.99);
};

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const p of made.splice(0)) p.dispose();
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

describe('chaos', () => {
  it('fails the calls its random source picks with the given error, and calls through otherwise', async () => {
    const boom = new Error('injected');
    const p = make(compose(chaos({ rate: 0.5, error: boom, random: draws(0.2, 0.7) })));
    const events = record(p);
    const fn = vi.fn(() => 'real');

    await expect(p.execute(fn)).rejects.toBe(boom);
    await expect(p.execute(fn)).resolves.toBe('real');
    expect(fn).toHaveBeenCalledTimes(1);
    expect(events.filter((e) => e.kind === 'chaos')).toMatchObject([
      { policy: 'chaos', fault: 'error', error: boom, attempt: 1 },
    ]);
  });

  it('builds the error from the attempt’s context when given a function', async () => {
    const p = make(compose(chaos({ rate: 1, error: (ctx) => new Error(`attempt ${ctx.attempt} injected`) })));
    await expect(p.execute(() => 'real')).rejects.toThrow('attempt 1 injected');
  });

  it('answers with the substituted result without calling through', async () => {
    const p = make(compose(chaos({ rate: 1, result: () => ({ status: 503 }) })));
    const events = record(p);
    const fn = vi.fn(() => 'real');
    await expect(p.execute(fn)).resolves.toEqual({ status: 503 });
    expect(fn).not.toHaveBeenCalled();
    expect(events.find((e) => e.kind === 'chaos')).toMatchObject({ fault: 'result' });
  });

  it('adds latency before calling through, and reports it', async () => {
    const p = make(compose(chaos({ rate: 1, latencyMs: 300 })));
    const events = record(p);
    const call = track(p.execute(() => 'real'));
    await vi.advanceTimersByTimeAsync(299);
    expect(call.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(call.value).toBe('real');
    expect(events.find((e) => e.kind === 'chaos')).toMatchObject({
      fault: 'latency',
      delayMs: 300,
      durationS: 0.3,
    });
  });

  it('lets an attempt timeout end injected latency, as a slow dependency would', async () => {
    const p = make(compose(timeout(100), chaos({ rate: 1, latencyMs: 1_000 })));
    const fn = vi.fn((ctx: ExecuteContext) => ctx.attempt);
    const call = track(p.execute(fn));
    await vi.advanceTimersByTimeAsync(100);
    expect(isTimeoutError(call.error)).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fn).not.toHaveBeenCalled();
  });

  it('injects only when `when` says so, without drawing otherwise', async () => {
    let flagged = false;
    const random = draws(0);
    const p = make(compose(chaos({ rate: 1, error: new Error('injected'), when: () => flagged, random })));
    await expect(p.execute(() => 'real')).resolves.toBe('real');
    expect(random).not.toHaveBeenCalled();
    flagged = true;
    await expect(p.execute(() => 'real')).rejects.toThrow('injected');
  });

  it('never injects when NODE_ENV is production at construction, unless enabledInProduction', async () => {
    vi.stubEnv('NODE_ENV', 'production');
    const off = chaos({ rate: 1, error: new Error('injected') });
    const on = chaos({ rate: 1, error: new Error('injected'), enabledInProduction: true });
    expect([off.enabled, on.enabled]).toEqual([false, true]);
    await expect(make(compose(off)).execute(() => 'real')).resolves.toBe('real');
    await expect(make(compose(on)).execute(() => 'real')).rejects.toThrow('injected');
    expect(make({ chaos: { rate: 1, latencyMs: 10 } }).policies.map((policy) => policy.name)).not.toContain(
      'chaos',
    );
  });

  it('sits innermost in a pipeline, so the retry retries an injected failure', async () => {
    const p = make({
      chaos: { rate: 0.5, error: new Error('injected'), random: draws(0.1, 0.9) },
      circuitBreaker: false,
    });
    expect(p.policies.map((policy) => policy.name)).toEqual(['total-timeout', 'retry', 'timeout', 'chaos']);
    const call = track(p.execute((ctx) => `answer ${ctx.attempt}`));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(call.value).toBe('answer 2');
  });

  it.each([
    [{ rate: 1.5, latencyMs: 1 }, 'chaos: option rate must be a number from 0 to 1, received 1.5'],
    [{ latencyMs: 1 }, 'chaos: option rate must be a number from 0 to 1, received undefined'],
    [
      { rate: 1, error: 'boom' },
      'chaos: option error must be an Error or a function returning one, received "boom"',
    ],
    [
      { rate: 1, latencyMs: -5 },
      'chaos: option latencyMs must be an integer from 0 to 2147483647, received -5',
    ],
    [
      { rate: 1, error: new Error('x'), result: () => 1 },
      'chaos: option error cannot be combined with result; inject one outcome per policy, or compose two chaos policies',
    ],
    [
      { rate: 1 },
      'chaos: options must be an object with at least one of error, latencyMs and result, received an object',
    ],
    [
      { rate: 1, latencyMs: 1, enabledInProduction: 'yes' },
      'chaos: option enabledInProduction must be a boolean, received "yes"',
    ],
    [
      { rate: 1, latencyMs: 1, rat: 1 },
      'chaos: unknown option "rat"; expected one of rate, error, latencyMs, result, when',
    ],
  ] as [ChaosOptions, string][])('rejects %j at construction', (options, message) => {
    expect(() => chaos(options)).toThrow(message);
  });

  it('names the pipeline option in its messages', () => {
    expect(() => pipeline('chaos-options', { chaos: { rate: 2, latencyMs: 1 } })).toThrow(
      'pipeline "chaos-options": option chaos.rate must be a number from 0 to 1, received 2',
    );
  });
});

describe('chaos properties', () => {
  it('injects a share of calls that converges to rate', async () => {
    const calls = 2_000;
    await fc.assert(
      fc.asyncProperty(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer(), async (rate, seed) => {
        const p = make(compose(chaos({ rate, result: () => 'injected', random: seeded(seed) })));
        let injected = 0;
        for (let i = 0; i < calls; i++) if ((await p.execute(() => 'real')) === 'injected') injected++;
        p.dispose();
        const sigma = Math.sqrt((rate * (1 - rate)) / calls);
        expect(Math.abs(injected / calls - rate)).toBeLessThanOrEqual(5 * sigma + 1 / calls);
      }),
      { numRuns: 25 },
    );
  });
});
