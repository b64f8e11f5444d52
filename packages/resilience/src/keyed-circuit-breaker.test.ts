import { AsyncLocalStorage } from 'node:async_hooks';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type CircuitBreakerOptions,
  circuitBreaker,
  compose,
  isCircuitOpenError,
  type KeyedCircuitBreakerOptions,
  keyedCircuitBreaker,
  type Pipeline,
  pipeline,
} from './index.js';

const made: Pipeline[] = [];
let names = 0;

function make(policy: ReturnType<typeof compose>): Pipeline {
  const p = pipeline(`keyed-test-${names++}`, policy);
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

/** The key of the current call, as an adapter would hold the host or tenant it is calling. */
const target = new AsyncLocalStorage<string>();
const byTarget = () => target.getStore() ?? 'none';

function keyed(options: Partial<KeyedCircuitBreakerOptions> = {}) {
  const policy = keyedCircuitBreaker({
    key: byTarget,
    consecutiveFailures: 1,
    breakDurationMs: 1_000,
    ...options,
  });
  return { policy, p: make(compose(policy)) };
}

const fail = () => Promise.reject(new Error('down'));
const succeed = () => Promise.resolve('ok');

function callAs(p: Pipeline, key: string, fn: () => Promise<unknown>): Promise<unknown> {
  return target.run(key, () => p.execute(fn)).catch((e: unknown) => e);
}

describe('keyedCircuitBreaker', () => {
  it('opens only the circuit of the key that failed; other keys still reach the dependency', async () => {
    const { policy, p } = keyed();
    await callAs(p, 'a.example', fail);
    expect(policy.stateOf('a.example')).toBe('open');
    expect(isCircuitOpenError(await callAs(p, 'a.example', succeed))).toBe(true);
    expect(await callAs(p, 'b.example', succeed)).toBe('ok');
    expect(policy.stateOf('b.example')).toBe('closed');
  });

  it('runs each key through its own half-open probe', async () => {
    const { policy, p } = keyed();
    await callAs(p, 'a', fail);
    await callAs(p, 'b', fail);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await callAs(p, 'a', succeed)).toBe('ok');
    expect(policy.stateOf('a')).toBe('closed');
    expect(policy.stateOf('b')).toBe('half-open');
  });

  it('drops the least recently used key, with its state, beyond maxKeys', async () => {
    const { policy, p } = keyed({ maxKeys: 2 });
    await callAs(p, 'a', fail); // a open
    await callAs(p, 'b', succeed);
    await callAs(p, 'c', succeed); // evicts a
    expect(policy.size).toBe(2);
    expect(policy.stateOf('a')).toBe('closed');
    expect(await callAs(p, 'a', succeed)).toBe('ok'); // a starts over, closed
  });

  it('keeps a recently used key over an older one', async () => {
    const { policy, p } = keyed({ maxKeys: 2 });
    await callAs(p, 'a', fail); // a open
    await callAs(p, 'b', succeed);
    await callAs(p, 'a', succeed); // rejected, but a is now the most recently used
    await callAs(p, 'c', succeed); // evicts b
    expect(policy.stateOf('a')).toBe('open');
    expect(policy.notClosed()).toEqual([['a', 'open']]);
  });

  it('isolates and resets one key by hand', async () => {
    const { policy, p } = keyed();
    policy.isolate('a');
    expect(isCircuitOpenError(await callAs(p, 'a', succeed))).toBe(true);
    expect(await callAs(p, 'b', succeed)).toBe('ok');
    policy.reset('a');
    expect(await callAs(p, 'a', succeed)).toBe('ok');
  });

  it('fails a call whose key function does not return a string, without calling the dependency', async () => {
    const p = make(compose(keyedCircuitBreaker({ key: () => 42 as unknown as string })));
    const fn = vi.fn(succeed);
    const error = await p.execute(fn).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/keyedCircuitBreaker: key must return a string, returned number/);
    expect(fn).not.toHaveBeenCalled();
  });

  it('fails a call with what the key function threw, without calling the dependency', async () => {
    const thrown = new Error('no tenant');
    const p = make(
      compose(
        keyedCircuitBreaker({
          key: () => {
            throw thrown;
          },
        }),
      ),
    );
    const fn = vi.fn(succeed);
    expect(await p.execute(fn).catch((e: unknown) => e)).toBe(thrown);
    expect(fn).not.toHaveBeenCalled();
  });

  it('reports its keys in the pipeline stats, and leaves the pipeline circuit state undefined', async () => {
    const { p } = keyed();
    await callAs(p, 'a', fail);
    await callAs(p, 'b', succeed);
    expect(p.stats.circuitKeys).toEqual({ size: 2, notClosed: [['a', 'open']] });
    expect(p.circuitState).toBeUndefined();
  });

  it('reports circuit events under the circuit-breaker policy, naming the key', async () => {
    const { p } = keyed();
    const seen: string[] = [];
    p.onEvent((e) => {
      if (e.policy === 'circuit-breaker') seen.push(`${e.kind}:${e.key}`);
    });
    await callAs(p, 'a', fail);
    await callAs(p, 'a', succeed);
    await vi.advanceTimersByTimeAsync(1_000);
    await callAs(p, 'a', succeed);
    expect(seen).toEqual(['break:a', 'reject:a', 'half-open:a', 'reset:a']);
  });
});

describe('keyedCircuitBreaker options', () => {
  it.each([
    [
      {},
      TypeError,
      /keyedCircuitBreaker: option key must be a function of the call returning its key, received undefined/,
    ],
    [{ key: 'host' }, TypeError, /keyedCircuitBreaker: option key must be a function, received "host"/],
    [
      { key: byTarget, maxKeys: 0 },
      RangeError,
      /option maxKeys must be an integer from 1 to 1000000, received 0/,
    ],
    [
      { key: byTarget, maxKeys: 2.5 },
      RangeError,
      /option maxKeys must be an integer from 1 to 1000000, received 2.5/,
    ],
    [
      { key: byTarget, failureRatio: 2 },
      RangeError,
      /keyedCircuitBreaker: option failureRatio must be a number from 0.001 to 0.999, received 2/,
    ],
    [{ key: byTarget, maxKey: 10 }, TypeError, /keyedCircuitBreaker: unknown option "maxKey"/],
  ])('rejects %o at construction', (options, type, message) => {
    const build = () => keyedCircuitBreaker(options as unknown as KeyedCircuitBreakerOptions);
    expect(build).toThrow(type);
    expect(build).toThrow(message);
  });

  it('defaults maxKeys to 1000', () => {
    expect(keyedCircuitBreaker({ key: byTarget }).maxKeys).toBe(1_000);
  });
});

describe('keyedCircuitBreaker properties', () => {
  type Op = { kind: 'call'; key: number; ok: boolean } | { kind: 'advance'; ms: number };
  const op = (keys: number): fc.Arbitrary<Op> =>
    fc.oneof(
      {
        arbitrary: fc.record({ kind: fc.constant('call' as const), key: fc.nat(keys - 1), ok: fc.boolean() }),
        weight: 6,
      },
      {
        arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 800 }) }),
        weight: 1,
      },
    );
  const breakerOptions: CircuitBreakerOptions = { consecutiveFailures: 2, breakDurationMs: 1_000 };

  it('never holds more than maxKeys keys', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(op(12), { maxLength: 80 }),
        async (maxKeys, ops) => {
          const { policy, p } = keyed({ ...breakerOptions, maxKeys });
          for (const o of ops) {
            if (o.kind === 'advance') await vi.advanceTimersByTimeAsync(o.ms);
            else await callAs(p, `k${o.key}`, o.ok ? succeed : fail);
            expect(policy.size).toBeLessThanOrEqual(maxKeys);
            expect(policy.notClosed().length).toBeLessThanOrEqual(maxKeys);
          }
          p.dispose();
        },
      ),
      { numRuns: 60 },
    );
  });

  it("a key's circuit moves exactly as a breaker of its own would: other keys' failures never change it", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op(4), { maxLength: 80 }), async (ops) => {
        // maxKeys above the key count: no eviction, so each key's breaker lives through the run.
        const { policy, p } = keyed({ ...breakerOptions, maxKeys: 4 });
        const alone = [0, 1, 2, 3].map(() => make(compose(circuitBreaker(breakerOptions))));
        for (const o of ops) {
          if (o.kind === 'advance') {
            await vi.advanceTimersByTimeAsync(o.ms);
          } else {
            const fn = o.ok ? succeed : fail;
            await callAs(p, `k${o.key}`, fn);
            await alone[o.key]!.execute(fn).catch(() => undefined);
          }
          for (let k = 0; k < 4; k++) {
            expect(policy.stateOf(`k${k}`)).toBe(alone[k]!.circuitState);
          }
        }
        p.dispose();
        for (const a of alone) a.dispose();
      }),
      { numRuns: 60 },
    );
  });
});
