import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  type ConfiguredPipelines,
  isCancelledError,
  isCircuitOpenError,
  isConfigError,
  pipeline,
  pipelinesFromConfig,
  type ResilienceEvent,
} from './index.js';
import { livePipelines as livePipelinesForTest } from './registry.js';

const sets: ConfiguredPipelines[] = [];
let names = 0;
const fresh = () => `config-test-${names++}`;

function build(data: unknown, options?: Parameters<typeof pipelinesFromConfig>[1]): ConfiguredPipelines {
  const set = pipelinesFromConfig(data, options);
  sets.push(set);
  return set;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (isConfigError(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  for (const set of sets.splice(0)) set.dispose();
  vi.useRealTimers();
});

const failing = () => Promise.reject(new Error('down'));

describe('pipelinesFromConfig validation', () => {
  it('lists every issue at once, each with its path, expectation and the value received', () => {
    const error = configError(() =>
      build({
        pipelines: {
          payments: { timeout: 0, retry: { maxAttempts: 0, backoff: 3 } },
          search: { bulkhead: { maxConcurrent: 0 }, hedge: { maxHedged: 'two' } },
          'bad name!': {},
        },
        extra: true,
      }),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.issues).toEqual([
      {
        path: 'pipelines.payments.timeout',
        expected: 'false or an integer from 1 to 2147483647',
        received: '0',
      },
      {
        path: 'pipelines.payments.retry.maxAttempts',
        expected: 'an integer from 1 to 100',
        received: '0',
      },
      {
        path: 'pipelines.payments.retry.backoff',
        expected: 'no such option (one of maxAttempts, baseDelayMs, maxDelayMs, budget)',
        received: '3',
      },
      {
        path: 'pipelines.search.bulkhead.maxConcurrent',
        expected: 'an integer from 1 to 1000000',
        received: '0',
      },
      { path: 'pipelines.search.hedge.maxHedged', expected: 'an integer from 1 to 10', received: '"two"' },
      {
        path: 'pipelines.bad name!',
        expected: 'a name that is a string matching /^[A-Za-z0-9._:/-]{1,128}$/',
        received: '"bad name!"',
      },
      {
        path: 'extra',
        expected: 'no such option (one of $schema, pipelines)',
        received: 'true',
      },
    ]);
    expect(error.message).toContain(
      'pipelines.payments.retry.maxAttempts: expected an integer from 1 to 100, received 0',
    );
    expect(error.message.split('\n')).toHaveLength(8);
  });

  it('reports options that do not fit together, after the schema, with the pipeline rule that failed', () => {
    const error = configError(() =>
      build({
        pipelines: {
          a: { timeout: 5_000, totalTimeout: 1_000 },
          b: { retry: { baseDelayMs: 500, maxDelayMs: 100 } },
          c: { circuitBreaker: { consecutiveFailures: 3, failureRatio: 0.2 } },
        },
      }),
    );
    expect(error.issues.map((i) => i.path)).toEqual([
      'pipelines.a.timeout',
      'pipelines.b.retry.maxDelayMs',
      'pipelines.c',
    ]);
    expect(error.issues[0]).toEqual({
      path: 'pipelines.a.timeout',
      expected: 'at most totalTimeout (1000 ms)',
      received: '5000',
    });
    expect(error.issues[2]!.expected).toContain('choose one mode');
  });

  it('rejects a root that is not an object, and a missing pipelines map', () => {
    expect(configError(() => build(null)).issues).toEqual([
      { path: '', expected: 'an options object', received: 'null' },
    ]);
    expect(configError(() => build({})).issues[0]!.path).toBe('pipelines');
  });

  it('refuses a name a live pipeline already has, creating none of the others', () => {
    const taken = fresh();
    const other = fresh();
    const owner = pipeline(taken);
    try {
      expect(() => build({ pipelines: { [other]: {}, [taken]: {} } })).toThrow(/already has this name/);
      expect(livePipelinesForTest().map((p) => p.name)).not.toContain(other);
    } finally {
      owner.dispose();
    }
  });
});

describe('pipelinesFromConfig building', () => {
  it('builds working pipelines with the configured options', async () => {
    const name = fresh();
    const set = build({
      pipelines: { [name]: { retry: { maxAttempts: 2, baseDelayMs: 1, budget: false } } },
    });
    const payments = set.get(name);
    let attempts = 0;
    const call = payments.execute(() => (++attempts === 1 ? Promise.reject(new Error('once')) : 'ok'));
    await vi.advanceTimersByTimeAsync(10);
    await expect(call).resolves.toBe('ok');
    expect(attempts).toBe(2);
    expect([...set.pipelines.keys()]).toEqual([name]);
    expect(livePipelinesForTest()).toContain(payments);
  });

  it('lays options in code over the data, for the options that take a function', async () => {
    const name = fresh();
    const set = build(
      { pipelines: { [name]: { retry: { maxAttempts: 3, baseDelayMs: 1 } } } },
      { overrides: { [name]: { retry: { retryOn: () => false }, fallback: () => 'fallback' } } },
    );
    let attempts = 0;
    const result = await set.get(name).execute(() => {
      attempts++;
      return failing();
    });
    expect(result).toBe('fallback');
    expect(attempts).toBe(1);
  });

  it('throws naming the configured pipelines for an unknown name', () => {
    const name = fresh();
    const set = build({ pipelines: { [name]: {} } });
    expect(() => set.get('nope')).toThrow(`no pipeline named "nope"; configured: ${name}`);
  });
});

describe('pipelinesFromConfig reload', () => {
  it('changes nothing when the new data is invalid', async () => {
    const name = fresh();
    const set = build({ pipelines: { [name]: { retry: false } } });
    const before = set.get(name).policies;
    expect(() => set.reload({ pipelines: { [name]: { retry: { maxAttempts: 0 } }, [fresh()]: {} } })).toThrow(
      ConfigError,
    );
    expect(set.get(name).policies).toBe(before);
    expect([...set.pipelines.keys()]).toEqual([name]);
  });

  it('gives new calls the new options and lets calls in flight finish under the old ones', async () => {
    const name = fresh();
    const set = build({ pipelines: { [name]: { timeout: 1_000 } } });
    const p = set.get(name);
    const slow = (ms: number) => () => new Promise((resolve) => setTimeout(resolve, ms, ms));
    const old = p.execute(slow(2_000), { idempotent: false });
    const oldOutcome = old.catch((e: unknown) => e);
    set.reload({ pipelines: { [name]: { timeout: 5_000 } } });
    const next = p.execute(slow(2_000));
    await vi.advanceTimersByTimeAsync(2_000);
    expect(((await oldOutcome) as Error).name).toBe('TimeoutError');
    await expect(next).resolves.toBe(2_000);
    expect(set.get(name)).toBe(p);
  });

  it('keeps the breaker state across a reload that does not touch the breaker or the timeout', async () => {
    const name = fresh();
    const breaker = { consecutiveFailures: 1, breakDurationMs: 60_000 };
    const set = build({ pipelines: { [name]: { retry: false, circuitBreaker: breaker } } });
    const p = set.get(name);
    await expect(p.execute(failing)).rejects.toThrow('down');
    expect(p.circuitState).toBe('open');
    set.reload({ pipelines: { [name]: { retry: { maxAttempts: 2 }, circuitBreaker: { ...breaker } } } });
    expect(p.circuitState).toBe('open');
    await expect(p.execute(() => 'ok')).rejects.toSatisfy(isCircuitOpenError);
  });

  it('keeps one live pipeline per name, the stable one, before, during and after a reload', async () => {
    const name = fresh();
    const set = build({ pipelines: { [name]: { timeout: 1_000 } } });
    const p = set.get(name);
    const inFlight = p.execute(() => new Promise((resolve) => setTimeout(resolve, 100, 'done')));
    set.reload({ pipelines: { [name]: { timeout: 2_000 } } });
    const named = () => livePipelinesForTest().filter((x) => x.name === name);
    expect(named()).toEqual([p]);
    expect(() => pipeline(name)).toThrow(/already has this name/);
    await vi.advanceTimersByTimeAsync(100);
    await expect(inFlight).resolves.toBe('done');
    expect(named()).toEqual([p]);
    expect(p.stats.inFlight).toBe(0);
  });

  it('starts a new breaker when the attempt timeout it follows changes', async () => {
    const name = fresh();
    const breaker = { consecutiveFailures: 1 };
    const set = build({ pipelines: { [name]: { retry: false, circuitBreaker: breaker } } });
    const p = set.get(name);
    await expect(p.execute(failing)).rejects.toThrow('down');
    set.reload({ pipelines: { [name]: { retry: false, circuitBreaker: breaker, totalTimeout: 5_000 } } });
    expect(p.circuitState).toBe('closed');
  });

  it('starts a changed breaker closed', async () => {
    const name = fresh();
    const set = build({
      pipelines: { [name]: { retry: false, circuitBreaker: { consecutiveFailures: 1 } } },
    });
    const p = set.get(name);
    await expect(p.execute(failing)).rejects.toThrow('down');
    set.reload({ pipelines: { [name]: { retry: false, circuitBreaker: { consecutiveFailures: 2 } } } });
    expect(p.circuitState).toBe('closed');
  });

  it('disposes a removed pipeline once its calls settle, and creates an added one', async () => {
    const removed = fresh();
    const added = fresh();
    const set = build({ pipelines: { [removed]: {} } });
    const p = set.get(removed);
    const inFlight = p.execute(() => new Promise((resolve) => setTimeout(resolve, 100, 'done')));
    set.reload({ pipelines: { [added]: {} } });
    await expect(p.execute(() => 'late')).rejects.toSatisfy(isCancelledError);
    expect(livePipelinesForTest()).toContain(p);
    await vi.advanceTimersByTimeAsync(100);
    await expect(inFlight).resolves.toBe('done');
    expect(livePipelinesForTest()).not.toContain(p);
    expect([...set.pipelines.keys()]).toEqual([added]);
    await expect(set.get(added).execute(() => 'new')).resolves.toBe('new');
  });

  it('takes back a removed pipeline that is still draining when a reload adds it again', async () => {
    const name = fresh();
    const set = build({ pipelines: { [name]: {} } });
    const p = set.get(name);
    const inFlight = p.execute(() => new Promise((resolve) => setTimeout(resolve, 100, 'done')));
    set.reload({ pipelines: {} });
    set.reload({ pipelines: { [name]: { retry: false } } });
    expect(set.get(name)).toBe(p);
    await expect(p.execute(() => 'again')).resolves.toBe('again');
    await vi.advanceTimersByTimeAsync(100);
    await expect(inFlight).resolves.toBe('done');
    expect(livePipelinesForTest()).toContain(p);
  });

  it('makes afresh on reload a pipeline the application disposed itself', async () => {
    const name = fresh();
    const set = build({ pipelines: { [name]: {} } });
    set.get(name).dispose();
    set.reload({ pipelines: { [name]: { retry: false } } });
    await expect(set.get(name).execute(() => 'back')).resolves.toBe('back');
  });

  it('forwards the events of every generation to listeners of the stable pipeline', async () => {
    const name = fresh();
    const set = build({ pipelines: { [name]: { retry: false } } });
    const p = set.get(name);
    const kinds: string[] = [];
    const stop = p.onEvent((e: ResilienceEvent) => kinds.push(`${e.policy}:${e.kind}`));
    await p.execute(() => 'a');
    set.reload({ pipelines: { [name]: { retry: false, timeout: 2_000 } } });
    await p.execute(() => 'b');
    stop();
    await p.execute(() => 'c');
    expect(kinds.filter((k) => k === 'pipeline:success')).toHaveLength(2);
  });

  it('loses or rejects no call in flight across random reloads (property)', async () => {
    const name = fresh();
    const optionsArb = fc.record(
      {
        timeout: fc.integer({ min: 1_000, max: 20_000 }),
        retry: fc.oneof(
          fc.constant(false as const),
          fc.record({ maxAttempts: fc.integer({ min: 1, max: 5 }) }),
        ),
        circuitBreaker: fc.oneof(
          fc.constant(false as const),
          fc.record({ consecutiveFailures: fc.integer({ min: 1, max: 10 }) }),
        ),
        bulkhead: fc.oneof(fc.constant(false as const), fc.record({ maxConcurrent: fc.constant(1_000) })),
      },
      { requiredKeys: [] },
    );
    const step = fc.oneof(
      fc.record({ kind: fc.constant('call' as const), ms: fc.integer({ min: 0, max: 900 }) }),
      fc.record({ kind: fc.constant('reload' as const), options: optionsArb }),
      fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 500 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 30 }), async (steps) => {
        const set = pipelinesFromConfig({ pipelines: { [name]: {} } });
        try {
          const p = set.get(name);
          const calls: { id: number; outcome: Promise<unknown> }[] = [];
          for (const s of steps) {
            if (s.kind === 'call') {
              const id = calls.length;
              const outcome = p
                .execute(() => new Promise((resolve) => setTimeout(resolve, s.ms, id)))
                .catch((error: unknown) => error);
              calls.push({ id, outcome });
            } else if (s.kind === 'reload') {
              set.reload({ pipelines: { [name]: s.options } });
            } else {
              await vi.advanceTimersByTimeAsync(s.ms);
            }
          }
          await vi.advanceTimersByTimeAsync(1_000);
          for (const call of calls) expect(await call.outcome).toBe(call.id);
          expect(p.stats.inFlight).toBe(0);
        } finally {
          set.dispose();
        }
      }),
      { numRuns: 60 },
    );
  });
});
