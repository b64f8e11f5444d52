import { type Pipeline, pipeline } from '@keel/resilience';
import { afterEach, describe, expect, it } from 'vitest';
import { createReadiness, type ReadinessPhase } from './readiness.js';

const live: Pipeline[] = [];
afterEach(() => {
  for (const p of live.splice(0)) p.dispose();
});

function dependency(name: string): Pipeline {
  const p = pipeline(name, { circuitBreaker: { consecutiveFailures: 1 } });
  live.push(p);
  return p;
}

describe('createReadiness', () => {
  it('is ready while serving, reporting each dependency circuit', async () => {
    const readiness = createReadiness({ pipelines: [dependency('payments'), dependency('inventory')] });
    expect(await readiness.check()).toEqual({
      status: 'ready',
      phase: 'serving',
      notReady: [],
      pipelines: {
        payments: { state: 'closed', required: false },
        inventory: { state: 'closed', required: false },
      },
      checks: {},
    });
  });

  it('stays ready when a dependency it does not require is down, and reports its open circuit', async () => {
    const payments = dependency('payments');
    await payments
      .execute(() => {
        throw new Error('payments is down');
      })
      .catch(() => undefined);
    const report = await createReadiness({ pipelines: [payments] }).check();
    expect(report).toMatchObject({
      status: 'ready',
      pipelines: { payments: { state: 'open', required: false } },
    });
  });

  it('is not ready while a required dependency is open or isolated, naming it, and ready again after', async () => {
    const ledger = dependency('ledger');
    const readiness = createReadiness({
      pipelines: [dependency('payments'), { pipeline: ledger, required: true }],
    });
    ledger.isolate();
    expect(await readiness.check()).toMatchObject({
      status: 'not ready',
      notReady: ['ledger'],
      pipelines: { ledger: { state: 'isolated', required: true } },
    });
    ledger.reset();
    expect((await readiness.check()).status).toBe('ready');
  });

  it('accepts anything that holds a pipeline, such as an httpClient', async () => {
    const orders = dependency('orders');
    const client = { name: 'orders-client', pipeline: orders, close: async () => {} };
    orders.isolate();
    expect(await createReadiness({ pipelines: [client] }).check()).toMatchObject({
      status: 'ready',
      pipelines: { orders: { state: 'isolated', required: false } },
    });
  });

  it.each([
    ['returns false', (): boolean => false, 'failed'],
    ['throws', (): Promise<boolean> => Promise.reject(new Error('no db')), 'failed'],
    ['outlives checkTimeoutMs', (): Promise<boolean> => new Promise<boolean>(() => {}), 'timeout'],
  ] as const)('is not ready when one of its own checks %s', async (_name, check, result) => {
    const report = await createReadiness({
      checks: { db: check, cache: () => true },
      checkTimeoutMs: 20,
    }).check();
    expect(report).toMatchObject({
      status: 'not ready',
      notReady: ['db'],
      checks: { db: result, cache: 'ok' },
    });
  });

  it('is not ready while starting, until markStarted()', async () => {
    const readiness = createReadiness({ started: false });
    expect(await readiness.check()).toMatchObject({
      status: 'not ready',
      phase: 'starting',
      notReady: ['starting'],
    });
    readiness.markStarted();
    expect(await readiness.check()).toMatchObject({ status: 'ready', phase: 'serving' });
  });

  it('is not ready for good once stopping, without running its checks', async () => {
    let runs = 0;
    const readiness = createReadiness({ checks: { db: () => ++runs > 0 } });
    readiness.markStopping();
    readiness.markStarted();
    expect(await readiness.check()).toMatchObject({
      status: 'not ready',
      phase: 'stopping',
      notReady: ['stopping'],
      checks: {},
    });
    expect(runs).toBe(0);
  });

  it('never reports ready when stopping began while its checks ran', async () => {
    let release!: (ok: boolean) => void;
    const readiness = createReadiness({
      checks: { db: () => new Promise<boolean>((resolve) => (release = resolve)) },
    });
    const report = readiness.check();
    await new Promise((resolve) => setImmediate(resolve)); // the check is running
    readiness.markStopping();
    release(true);
    expect(await report).toMatchObject({ status: 'not ready', phase: 'stopping', notReady: ['stopping'] });
  });

  it('tells phase listeners of each change until they are disposed', () => {
    const readiness = createReadiness({ started: false });
    const seen: ReadinessPhase[] = [];
    const dispose = readiness.onPhase((phase) => seen.push(phase));
    readiness.markStarted();
    readiness.markStarted();
    dispose();
    readiness.markStopping();
    expect(seen).toEqual(['serving']);
  });

  it.each([
    [
      { pipelines: 'payments' },
      TypeError,
      /createReadiness: option pipelines must be an array of pipelines, received "payments"/,
    ],
    [
      { pipelines: [42] },
      TypeError,
      /createReadiness: option pipelines\[0\] must be a pipeline or \{ pipeline, required \}, received 42/,
    ],
    [
      { pipelines: [{ pipeline: 'ledger', required: true }] },
      TypeError,
      /option pipelines\[0\]\.pipeline must be a pipeline, received "ledger"/,
    ],
    [
      { checks: { db: true } },
      TypeError,
      /createReadiness: option checks\.db must be a function, received true/,
    ],
    [
      { checkTimeoutMs: 0 },
      RangeError,
      /createReadiness: option checkTimeoutMs must be an integer from 1 to 60000, received 0/,
    ],
    [{ started: 'yes' }, TypeError, /createReadiness: option started must be a boolean, received "yes"/],
    [{ required: [] }, TypeError, /createReadiness: unknown option "required"/],
  ])('rejects %o at construction, naming the option', (options, type, message) => {
    expect(() => createReadiness(options as never)).toThrow(type);
    expect(() => createReadiness(options as never)).toThrow(message);
  });
});
