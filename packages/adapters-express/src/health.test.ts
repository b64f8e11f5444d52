import { pipeline } from '@keel/resilience';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { liveness } from './liveness.js';
import { readiness } from './readiness.js';
import { type Served, serve } from './testing/harness.js';

let served: Served | undefined;
const disposers: (() => void)[] = [];

afterEach(async () => {
  await served?.close();
  served = undefined;
  for (const dispose of disposers.splice(0)) dispose();
});

function aPipeline(name: string) {
  const p = pipeline(name, { circuitBreaker: { consecutiveFailures: 1 } });
  disposers.push(() => p.dispose());
  return p;
}

async function get(handler: express.RequestHandler): Promise<Response> {
  const app = express();
  app.get('/probe', handler);
  served ??= await serve(app);
  return fetch(`${served.url}/probe`);
}

describe('liveness', () => {
  it('answers 200 without looking at any dependency', async () => {
    const res = await get(liveness());
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});

describe('readiness', () => {
  it('answers 200 while every pipeline circuit is closed', async () => {
    const res = await get(readiness({ pipelines: [aPipeline('payments'), aPipeline('inventory')] }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', notReady: [] });
  });

  it('flips to 503 naming the pipeline once its circuit is isolated, and back to 200 on reset', async () => {
    const payments = aPipeline('payments');
    const app = express();
    app.get('/readyz', readiness({ pipelines: [payments, aPipeline('inventory')] }));
    served = await serve(app);
    payments.isolate();
    const down = await fetch(`${served.url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'not ready', notReady: ['payments'] });
    payments.reset();
    expect((await fetch(`${served.url}/readyz`)).status).toBe(200);
  });

  it('answers 503 while a circuit is open after failures', async () => {
    const payments = aPipeline('payments-open');
    await payments
      .execute(() => {
        throw new Error('down');
      })
      .catch(() => undefined);
    const res = await get(readiness({ pipelines: [payments] }));
    expect(payments.circuitState).toBe('open');
    expect(res.status).toBe(503);
  });

  it.each([
    ['returns false', () => false, 'failed'],
    ['throws', () => Promise.reject(new Error('no db')), 'failed'],
    ['outlives checkTimeoutMs', () => new Promise<boolean>(() => {}), 'timeout'],
  ])('answers 503 when a check %s', async (_name, check, result) => {
    const res = await get(readiness({ checks: { db: check }, checkTimeoutMs: 20 }));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ notReady: ['db'], checks: { db: result } });
  });

  it.each([
    [
      { pipelines: 'payments' },
      /readiness: option pipelines must be an array of pipelines, received "payments"/,
    ],
    [{ pipelines: [42] }, /readiness: option pipelines\[0\] must be a pipeline, received 42/],
    [{ checks: { db: true } }, /readiness: option checks\.db must be a function, received true/],
    [
      { checkTimeoutMs: 0 },
      /readiness: option checkTimeoutMs must be an integer from 1 to 60000, received 0/,
    ],
  ])('rejects %o naming the option', (options, message) => {
    expect(() => readiness(options as never)).toThrow(message);
  });
});
