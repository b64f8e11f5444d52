import { pipeline } from '@keel/resilience';
import { createReadiness } from '@keel/telemetry';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { liveness } from './liveness.js';
import { readinessRoute } from './readiness-route.js';
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

describe('readinessRoute', () => {
  it('answers 200 with the report while the service is ready', async () => {
    const res = await get(readinessRoute(createReadiness({ pipelines: [aPipeline('payments')] })));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({
      status: 'ready',
      phase: 'serving',
      notReady: [],
      pipelines: { payments: { state: 'closed', required: false } },
      checks: {},
    });
  });

  it('stays 200 while a dependency it does not require is down, reporting its open circuit', async () => {
    const payments = aPipeline('payments-down');
    await payments
      .execute(() => {
        throw new Error('payments is down');
      })
      .catch(() => undefined);
    expect(payments.circuitState).toBe('open');
    const res = await get(readinessRoute(createReadiness({ pipelines: [payments] })));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      pipelines: { 'payments-down': { state: 'open', required: false } },
    });
  });

  it('answers 503 naming a required dependency while its circuit is isolated, and 200 again on reset', async () => {
    const ledger = aPipeline('ledger');
    const app = express();
    app.get(
      '/readyz',
      readinessRoute(createReadiness({ pipelines: [{ pipeline: ledger, required: true }] })),
    );
    served = await serve(app);
    ledger.isolate();
    const down = await fetch(`${served.url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ status: 'not ready', notReady: ['ledger'] });
    ledger.reset();
    expect((await fetch(`${served.url}/readyz`)).status).toBe(200);
  });

  it('answers 503 at once when the service starts stopping', async () => {
    const readiness = createReadiness();
    const app = express();
    app.get('/readyz', readinessRoute(readiness));
    served = await serve(app);
    expect((await fetch(`${served.url}/readyz`)).status).toBe(200);
    readiness.markStopping();
    const res = await fetch(`${served.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'not ready', phase: 'stopping' });
  });

  it("answers 503 when one of the service's own checks fails", async () => {
    const res = await get(readinessRoute(createReadiness({ checks: { db: () => false } })));
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ notReady: ['db'], checks: { db: 'failed' } });
  });

  it.each([
    [
      undefined,
      /readinessRoute: argument readiness must be the model createReadiness\(\) returned, received undefined/,
    ],
    [
      { pipelines: [] },
      /readinessRoute: argument readiness must be the model createReadiness\(\) returned, received an object/,
    ],
  ])('rejects %o, which is not a readiness model', (argument, message) => {
    expect(() => readinessRoute(argument as never)).toThrow(TypeError);
    expect(() => readinessRoute(argument as never)).toThrow(message);
  });
});
