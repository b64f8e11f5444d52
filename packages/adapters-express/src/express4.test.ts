// keel() and its companions on Express 4 (the `express-4` alias): the package's peer range admits
// ^4.21, and these are the behaviours that depend on how Express routes and re-prototypes requests.
import { createRequire } from 'node:module';
import { TimeoutError } from '@keel/resilience';
import type { Express } from 'express';
import express4 from 'express-4';
import { describe, expect, it } from 'vitest';
import { keelErrorHandler } from './error-handler.js';
import { keel } from './keel.js';
import { requestSignal } from './request-signal.js';
import { eventually, leaveEarly, slowRoute, useHarness } from './testing/harness.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const TRACEPARENT = `00-${TRACE_ID}-b7ad6b7169203331-01`;

const require = createRequire(import.meta.url);
const fixture = useHarness();

function app(): Express {
  const a = express4();
  a.use(keel({ telemetry: fixture.h.telemetry }));
  return a;
}

async function start(a: Express): Promise<string> {
  a.use(keelErrorHandler());
  return (await fixture.serve(a)).url;
}

describe('keel() on Express 4', () => {
  it('runs on Express 4', () => {
    expect(require('express-4/package.json').version).toMatch(/^4\./);
  });

  it('names the span by an app-level route template, read from req.route', async () => {
    const a = app();
    a.get('/orders/:id', (_req, res) => {
      res.sendStatus(204);
    });
    const url = await start(a);
    await fetch(`${url}/orders/7`);
    const [span] = await fixture.h.serverSpans();
    expect(span?.name).toBe('GET /orders/:id');
  });

  it('labels routes in mounted routers and sub-apps without a route, never with the raw path', async () => {
    // Express 4's router publishes no tracing events: the prefix a mount matched is known only as raw text.
    const a = app();
    const orders = express4.Router();
    orders.get('/orders/:id', (_req, res) => {
      res.sendStatus(204);
    });
    a.use('/tenants/:tenant', orders);
    const admin = express4();
    admin.get('/users/:id', (_req, res) => {
      res.sendStatus(204);
    });
    a.use('/admin', admin);
    const url = await start(a);
    for (const path of ['/tenants/acme/orders/7', '/admin/users/3']) await fetch(`${url}${path}`);
    const spans = await fixture.h.serverSpans(2);
    expect(spans.map((s) => [s.name, s.attributes['http.route']])).toEqual([
      ['GET', undefined],
      ['GET', undefined],
    ]);
  });

  it('keeps the request context through a body parser for a body that arrives late', async () => {
    const a = app();
    a.use(express4.json());
    a.post('/orders', (req, res) => {
      fixture.h.telemetry.logger.info({ items: req.body.items }, 'order received');
      res.sendStatus(204);
    });
    const url = await start(a);
    const encoder = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode('{"items":'));
        await new Promise((resolve) => setTimeout(resolve, 30));
        controller.enqueue(encoder.encode('3}'));
        controller.close();
      },
    });
    await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { traceparent: TRACEPARENT, 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(fixture.h.lines.find((l) => l.msg === 'order received')).toMatchObject({
      items: 3,
      trace_id: TRACE_ID,
    });
  });

  it('answers a Keel outcome passed to next() through the one status table', async () => {
    const a = app();
    a.get('/slow', (_req, _res, next) => {
      next(new TimeoutError(50, 'attempt'));
    });
    const url = await start(a);
    const res = await fetch(`${url}/slow`);
    expect(res.status).toBe(504);
    const [span] = await fixture.h.serverSpans();
    expect(span?.attributes['error.type']).toBe('KEEL_ERR_TIMEOUT');
  });

  it('records a client that leaves as 499 and aborts requestSignal', async () => {
    const a = app();
    const slow = slowRoute(a, requestSignal);
    await leaveEarly(await start(a), slow.arrived);
    await eventually(() => slow.reason() !== undefined);
    expect(slow.reason()).toMatchObject({ code: 'KEEL_ERR_CANCELLED' });
    const [span] = await fixture.h.serverSpans();
    expect(span?.attributes['http.response.status_code']).toBe(499);
  });
});
