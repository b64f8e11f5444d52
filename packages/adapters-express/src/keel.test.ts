import { propagation } from '@opentelemetry/api';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { keelErrorHandler } from './error-handler.js';
import { keel } from './keel.js';
import { useHarness } from './testing/harness.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

/** `{"items":3}` in two chunks, the second 30 ms later: it reaches the server from the socket, outside any request context. */
function lateBody(): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode('{"items":'));
      await new Promise((resolve) => setTimeout(resolve, 30));
      controller.enqueue(encoder.encode('3}'));
      controller.close();
    },
  });
}

const fixture = useHarness();

/** POSTs `{"items":3}` late (see lateBody) with the test traceparent. */
function postLate(url: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { traceparent: TRACEPARENT, 'content-type': 'application/json' },
    body: lateBody(),
    duplex: 'half',
  } as RequestInit);
}

/** The handler's "order received" line carried the caller's trace. */
function expectOrderReceivedInTrace(): void {
  expect(fixture.h.lines.find((l) => l.msg === 'order received')).toMatchObject({
    items: 3,
    trace_id: TRACE_ID,
  });
}

function app(options: Parameters<typeof keel>[0] = {}): express.Express {
  const a = express();
  a.use(keel({ telemetry: fixture.h.telemetry, ...options }));
  return a;
}

async function start(a: express.Express): Promise<string> {
  a.use(keelErrorHandler());
  const served = await fixture.serve(a);
  return served.url;
}

/**
 * The `http.route` of `path` requested twice: the app's first request, which Express routed before keel()
 * extended the app's request prototype, and a later one, whose `req.route` goes through the prototype's accessor.
 */
async function routeTwice(url: string, path: string): Promise<unknown[]> {
  await fetch(`${url}${path}`);
  await fetch(`${url}${path}`);
  return (await fixture.h.serverSpans(2)).map((span) => span.attributes['http.route']);
}

describe('keel() span and route', () => {
  it('names the span {method} {route} with the full template of nested routers and mounts', async () => {
    const a = app();
    const orders = express.Router();
    orders.get('/orders/:id', (_req, res) => {
      res.json({ ok: true });
    });
    const v1 = express.Router();
    v1.use('/v1', orders);
    a.use('/api', v1);
    const url = await start(a);
    expect(await routeTwice(url, '/api/v1/orders/42')).toEqual(['/api/v1/orders/:id', '/api/v1/orders/:id']);
    const [span] = await fixture.h.serverSpans();
    expect(span?.name).toBe('GET /api/v1/orders/:id');
  });

  it('keeps the mount pattern, not the matched values, when a mount path has parameters', async () => {
    const a = app();
    const tenant = express.Router();
    tenant.get('/orders/:id', (_req, res) => {
      res.sendStatus(204);
    });
    a.use('/tenants/:tenant', tenant);
    const url = await start(a);
    expect(await routeTwice(url, '/tenants/acme/orders/7')).toEqual([
      '/tenants/:tenant/orders/:id',
      '/tenants/:tenant/orders/:id',
    ]);
  });

  it('includes the mount path of a sub-application', async () => {
    const a = app();
    const admin = express();
    admin.get('/users/:id', (_req, res) => {
      res.sendStatus(204);
    });
    a.use('/admin', admin);
    const url = await start(a);
    expect(await routeTwice(url, '/admin/users/3')).toEqual(['/admin/users/:id', '/admin/users/:id']);
  });

  it('keeps the full template when a nested handler fails and the error leaves the router', async () => {
    const a = app();
    const orders = express.Router();
    orders.get('/:id', async () => {
      throw new Error('boom');
    });
    a.use('/orders', orders);
    const url = await start(a);
    const res = await fetch(`${url}/orders/9`);
    expect(res.status).toBe(500);
    expect(await fetch(`${url}/orders/9`).then((r) => r.status)).toBe(500);
    const spans = await fixture.h.serverSpans(2);
    expect(spans.map((span) => [span.name, span.attributes['error.type']])).toEqual([
      ['GET /orders/:id', 'Error'],
      ['GET /orders/:id', 'Error'],
    ]);
  });

  it('labels an unmatched request without its raw path', async () => {
    const url = await start(app());
    const res = await fetch(`${url}/no/such/path-123`);
    const [span] = await fixture.h.serverSpans();
    expect(res.status).toBe(404);
    expect(span?.name).toBe('GET');
    expect(span?.attributes['http.route']).toBeUndefined();
    // The raw path is the span's url.path (Required by the conventions), never its name or a metric label.
    expect(span?.attributes['url.path']).toBe('/no/such/path-123');
    expect(await fixture.h.telemetry.metricsText()).not.toContain('path-123');
  });

  it('keeps metric series bounded across 10 000 distinct raw paths', async () => {
    const a = app({ accessLog: false });
    a.get('/items/:id', (_req, res) => {
      res.sendStatus(204);
    });
    const url = await start(a);
    const series = async () =>
      (await fixture.h.telemetry.metricsText())
        .split('\n')
        .filter((l) => l.startsWith('http_server_request_duration_seconds_count{'));
    const before = await series();
    const paths = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? `/items/${i}` : `/unknown/${i}`));
    for (let i = 0; i < paths.length; i += 100) {
      await Promise.all(paths.slice(i, i + 100).map((p) => fetch(`${url}${p}`).then((r) => r.arrayBuffer())));
    }
    const after = await series();
    expect(after.length - before.length).toBeLessThanOrEqual(2);
    expect(after.join('\n')).toMatch(/http_route="\/items\/:id"/);
    expect(after.join('\n')).not.toMatch(/\/(items|unknown)\/\d/);
  }, 60_000);
  it('enters a mount under the prefix it extends, not under a sibling mount that came before', async () => {
    const a = app();
    a.use('/api', (_req, _res, next) => {
      next();
    });
    const v1 = express.Router();
    v1.get('/orders/:id', (_req, res) => {
      res.sendStatus(204);
    });
    a.use('/api/v1', v1);
    const url = await start(a);
    expect(await routeTwice(url, '/api/v1/orders/7')).toEqual(['/api/v1/orders/:id', '/api/v1/orders/:id']);
  });

  it('labels requests without their raw path when Express stops setting req.baseUrl and req.route as assumed', async () => {
    const a = express();
    // Stands in for an Express whose router no longer assigns either: from here on both read as unset.
    a.use((req, _res, next) => {
      for (const name of ['baseUrl', 'route']) {
        Object.defineProperty(req, name, { configurable: true, get: () => undefined, set: () => {} });
      }
      next();
    });
    a.use(keel({ telemetry: fixture.h.telemetry }));
    const tenant = express.Router();
    tenant.get('/orders/:id', (_req, res) => {
      res.sendStatus(204);
    });
    a.use('/tenants/:tenant', tenant);
    const url = await start(a);
    expect((await fetch(`${url}/tenants/acme/orders/7`)).status).toBe(204);
    const [span] = await fixture.h.serverSpans();
    expect(span?.name).toBe('GET');
    const metrics = await fixture.h.telemetry.metricsText();
    // The raw path belongs in url.path (Required by the conventions) and nowhere else.
    const { 'url.path': path, ...attributes } = span?.attributes ?? {};
    expect(path).toBe('/tenants/acme/orders/7');
    expect(`${JSON.stringify(attributes)}\n${metrics}`).not.toMatch(/acme|orders\/7/);
  });
});

describe('keel() probes and ignored paths', () => {
  function probed(options: Parameters<typeof keel>[0] = {}): express.Express {
    const a = app(options);
    a.get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    a.get('/readyz', (_req, res) => {
      res.status(503).json({ status: 'not ready' });
    });
    a.get('/metrics', (_req, res) => {
      res.send('# EOF');
    });
    a.get(['/internal/ping', '/orders/:id'], (_req, res) => {
      res.sendStatus(204);
    });
    return a;
  }

  it('traces and logs no probe or scrape, not even a readiness probe answering 503', async () => {
    const url = await start(probed());
    for (const path of ['/healthz', '/readyz', '/readyz/', '/metrics?name[]=up', '/orders/1']) {
      await (await fetch(`${url}${path}`)).arrayBuffer();
    }
    const spans = await fixture.h.serverSpans();
    expect(spans.map((s) => s.name)).toEqual(['GET /orders/:id']);
    const logged = fixture.h.lines.filter((l) => l.msg === 'request completed');
    expect(logged.map((l) => (l.http as { route?: string }).route)).toEqual(['/orders/:id']);
    expect(await fixture.h.telemetry.metricsText()).not.toMatch(/http_route="\/(healthz|readyz|metrics)"/);
  });

  it('takes the paths in ignore out of tracing as well', async () => {
    const url = await start(probed({ ignore: ['/internal/ping'] }));
    await (await fetch(`${url}/internal/ping`)).arrayBuffer();
    await (await fetch(`${url}/orders/2`)).arrayBuffer();
    const spans = await fixture.h.serverSpans();
    expect(spans.map((s) => s.name)).toEqual(['GET /orders/:id']);
  });
});

describe('keel() access log', () => {
  function logged(): Record<string, unknown> | undefined {
    return fixture.h.lines.find((l) => l.msg === 'request completed');
  }

  it('carries the request path without its query string, so a 404 can be traced to its URL', async () => {
    const url = await start(app());
    expect((await fetch(`${url}/no/such/page-42?token=secret`)).status).toBe(404);
    await fixture.h.serverSpans();
    expect(logged()).toMatchObject({ url: { path: '/no/such/page-42' }, http: { status_code: 404 } });
    expect(JSON.stringify(logged())).not.toContain('secret');
    expect(await fixture.h.telemetry.metricsText()).not.toContain('page-42');
  });

  it('keeps route templates in metric labels while the log line has the path', async () => {
    const a = app();
    a.get('/orders/:id', (_req, res) => {
      res.sendStatus(204);
    });
    const url = await start(a);
    await fetch(`${url}/orders/977`);
    await fixture.h.serverSpans();
    expect(logged()).toMatchObject({ url: { path: '/orders/977' }, http: { route: '/orders/:id' } });
    const metrics = await fixture.h.telemetry.metricsText();
    expect(metrics).toMatch(/http_route="\/orders\/:id"/);
    // In no label value; a sample value (a duration sum) may contain the digits by chance.
    expect(metrics).not.toMatch(/"[^"\n]*977[^"\n]*"/);
  });

  it('cuts a long path to 256 characters', async () => {
    const url = await start(app());
    await fetch(`${url}/${'a'.repeat(2_000)}`);
    await fixture.h.serverSpans();
    const path = (logged()?.url as { path?: string } | undefined)?.path;
    expect(path).toBe(`/${'a'.repeat(255)}…`);
  });
});

describe('keel() correlation ID', () => {
  it('echoes the inbound correlation ID on the response', async () => {
    const url = await start(app());
    const res = await fetch(`${url}/x`, { headers: { 'x-correlation-id': 'order-42' } });
    expect(res.headers.get('x-correlation-id')).toBe('order-42');
  });

  it('generates a correlation ID when the request has none', async () => {
    const url = await start(app());
    const res = await fetch(`${url}/x`);
    expect(res.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['an oversized one', 'a'.repeat(129)],
    ['one with a tab and spaces', 'bad id\twith spaces'],
  ])('replaces %s with a fresh ID', async (_name, value) => {
    const url = await start(app());
    const res = await fetch(`${url}/x`, { headers: { 'x-correlation-id': value } });
    expect(res.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('replaces a correlation ID carrying encoded CR/LF, so nothing is injected into the response', async () => {
    // A raw CR/LF ends the header line in Node's parser; what reaches the header value is the encoded form.
    const url = await start(app());
    const res = await fetch(`${url}/x`, { headers: { 'x-correlation-id': 'abc%0d%0aSet-Cookie:%20a=1' } });
    expect(res.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});

describe('keel() trace context', () => {
  it('continues the inbound trace under the caller span by default', async () => {
    const url = await start(app());
    await fetch(`${url}/x`, { headers: { traceparent: TRACEPARENT } });
    const [span] = await fixture.h.serverSpans();
    expect(span?.spanContext().traceId).toBe(TRACE_ID);
    expect(span?.parentSpanContext?.spanId).toBe(PARENT_ID);
  });

  it('with edge: true starts a new trace that links the caller instead of continuing it', async () => {
    const url = await start(app({ edge: true }));
    await fetch(`${url}/x`, { headers: { traceparent: TRACEPARENT } });
    const [span] = await fixture.h.serverSpans();
    expect(span?.spanContext().traceId).not.toBe(TRACE_ID);
    expect(span?.parentSpanContext).toBeUndefined();
    expect(span?.links[0]?.context.spanId).toBe(PARENT_ID);
  });

  it('with edge: true drops the inbound baggage before the handler sees it', async () => {
    const a = app({ edge: true });
    a.get('/x', (_req, res) => {
      res.json({ baggage: propagation.getActiveBaggage()?.getAllEntries() ?? null });
    });
    const url = await start(a);
    const res = await fetch(`${url}/x`, { headers: { traceparent: TRACEPARENT, baggage: 'tenant=acme' } });
    expect(await res.json()).toEqual({ baggage: null });
  });

  it('hands inbound baggage to the handler by default', async () => {
    const a = app();
    a.get('/x', (_req, res) => {
      res.json({ tenant: propagation.getActiveBaggage()?.getEntry('tenant')?.value ?? null });
    });
    const url = await start(a);
    const res = await fetch(`${url}/x`, { headers: { baggage: 'tenant=acme' } });
    expect(await res.json()).toEqual({ tenant: 'acme' });
  });

  it.each([
    ['a malformed traceparent', { traceparent: '00-xyz-123-01' }],
    ['an all-zero trace ID', { traceparent: `00-${'0'.repeat(32)}-${PARENT_ID}-01` }],
    ['an oversized traceparent', { traceparent: `${TRACEPARENT}${'0'.repeat(8_000)}` }],
    ['an oversized tracestate', { traceparent: TRACEPARENT, tracestate: `a=${'b'.repeat(8_000)}` }],
    ['a malformed tracestate', { traceparent: TRACEPARENT, tracestate: '=,=,,==' }],
    ['an oversized baggage', { baggage: `k=${'v'.repeat(10_000)}` }],
    ['a malformed baggage', { baggage: ';;=%%%,=' }],
  ])('answers normally despite %s', async (_name, headers) => {
    const a = app();
    a.get('/x', (_req, res) => {
      res.json({ ok: true });
    });
    const url = await start(a);
    const res = await fetch(`${url}/x`, { headers });
    const [span] = await fixture.h.serverSpans();
    expect(res.status).toBe(200);
    expect(span?.name).toBe('GET /x');
  });

  it('gives the handler logger lines the trace ID and correlation ID, after an async step', async () => {
    const a = app();
    a.get('/x', async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      fixture.h.telemetry.logger.info('looking up the order');
      res.sendStatus(204);
    });
    const url = await start(a);
    await fetch(`${url}/x`, { headers: { traceparent: TRACEPARENT, 'x-correlation-id': 'corr-7' } });
    const line = fixture.h.lines.find((l) => l.msg === 'looking up the order');
    expect(line).toMatchObject({ trace_id: TRACE_ID, correlation_id: 'corr-7' });
  });

  it('keeps the request context through a body parser installed after it, for a body that arrives late', async () => {
    const a = app();
    a.use(express.json());
    a.post('/x', (req, res) => {
      fixture.h.telemetry.logger.info({ items: req.body.items }, 'order received');
      res.sendStatus(204);
    });
    const url = await start(a);
    await postLate(`${url}/x`);
    expectOrderReceivedInTrace();
  });

  it('keeps the request context through a hand-rolled stream reader that calls next() from its end event', async () => {
    const a = app();
    a.use((req, _res, next) => {
      let text = '';
      req.on('data', (chunk: Buffer) => {
        text += chunk;
      });
      req.on('end', () => {
        req.body = text;
        next();
      });
    });
    a.post('/x', (req, res) => {
      fixture.h.telemetry.logger.info({ size: req.body.length }, 'upload received');
      res.sendStatus(204);
    });
    const url = await start(a);
    await fetch(`${url}/x`, {
      method: 'POST',
      headers: { traceparent: TRACEPARENT },
      body: lateBody(),
      duplex: 'half',
    } as RequestInit);
    expect(fixture.h.lines.find((l) => l.msg === 'upload received')).toMatchObject({
      size: 11,
      trace_id: TRACE_ID,
    });
  });

  it('keeps the request context through a body parser inside a mounted sub-application', async () => {
    const a = app();
    const api = express();
    api.use(express.json());
    api.post('/orders', (req, res) => {
      fixture.h.telemetry.logger.info({ items: req.body.items }, 'order received');
      res.sendStatus(204);
    });
    a.use('/api', api);
    const url = await start(a);
    await postLate(`${url}/api/orders`);
    expectOrderReceivedInTrace();
    const [span] = await fixture.h.serverSpans();
    expect(span?.attributes['http.route']).toBe('/api/orders');
  });

  it('works when a body parser is installed before it', async () => {
    const a = express();
    a.use(express.json());
    a.use(keel({ telemetry: fixture.h.telemetry }));
    a.post('/x', (req, res) => {
      fixture.h.telemetry.logger.info({ items: req.body.items }, 'order received');
      res.sendStatus(204);
    });
    const url = await start(a);
    await fetch(`${url}/x`, {
      method: 'POST',
      headers: { traceparent: TRACEPARENT, 'content-type': 'application/json' },
      body: JSON.stringify({ items: 3 }),
    });
    expectOrderReceivedInTrace();
  });
});

describe('keel() endings', () => {
  it('records a client that disconnects before the response as 499', async () => {
    const a = app();
    let arrived!: () => void;
    const handlerRan = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    a.get('/slow', (_req, res) => {
      arrived();
      setTimeout(() => res.end(), 300).unref();
    });
    const url = await start(a);
    const abort = new AbortController();
    const pending = fetch(`${url}/slow`, { signal: abort.signal }).catch(() => undefined);
    await handlerRan;
    abort.abort();
    await pending;
    const [span] = await fixture.h.serverSpans();
    expect(span?.attributes['http.response.status_code']).toBe(499);
    expect(span?.attributes['error.type']).toBe('KEEL_ERR_CANCELLED');
    expect(await fixture.h.telemetry.metricsText()).toMatch(/http_response_status_code="499"/);
  });

  it('answers 504 at once, without running the handler, when the inbound deadline is already spent', async () => {
    const a = app();
    let ran = false;
    a.get('/x', (_req, res) => {
      ran = true;
      res.sendStatus(200);
    });
    const url = await start(a);
    const res = await fetch(`${url}/x`, { headers: { 'x-keel-deadline-ms': '0' } });
    expect(res.status).toBe(504);
    expect(await res.json()).toEqual({ error: { code: 'KEEL_ERR_TIMEOUT', message: expect.any(String) } });
    expect(ran).toBe(false);
  });

  it('runs the handler on a spent deadline when rejectExpiredDeadline is false', async () => {
    const a = app({ rejectExpiredDeadline: false });
    a.get('/x', (_req, res) => {
      res.sendStatus(200);
    });
    const url = await start(a);
    const res = await fetch(`${url}/x`, { headers: { 'x-keel-deadline-ms': '0' } });
    expect(res.status).toBe(200);
  });

  it('reports to the telemetry started after the middleware was built', async () => {
    await fixture.h.shutdown();
    const a = express();
    a.use(keel()); // built while no telemetry is started
    a.get('/late', (_req, res) => {
      res.sendStatus(204);
    });
    fixture.restart();
    const url = await start(a);
    await fetch(`${url}/late`);
    const [span] = await fixture.h.serverSpans();
    expect(span?.name).toBe('GET /late');
  });
});

describe('keel() installed twice', () => {
  it('starts one span per request when an app with keel() is mounted in another', async () => {
    const a = app();
    const inner = express();
    inner.use(keel({ telemetry: fixture.h.telemetry }));
    inner.get('/users/:id', (_req, res) => {
      res.sendStatus(204);
    });
    a.use('/admin', inner);
    const url = await start(a);
    await fetch(`${url}/admin/users/1`);
    const spans = await fixture.h.serverSpans();
    expect(spans.map((s) => s.name)).toEqual(['GET /admin/users/:id']);
  });
});

describe('keel() and the objects Express hands it', () => {
  it('gives requests that keel() did not see a plain req.route and unbound listeners', async () => {
    const a = express();
    const seen: unknown[] = [];
    a.get('/open/:id', (req, res) => {
      seen.push(req.route?.path, Object.getOwnPropertyDescriptor(req, 'route')?.writable);
      res.sendStatus(204);
    });
    a.use('/traced', keel({ telemetry: fixture.h.telemetry }));
    a.get('/traced/:id', (req, res) => {
      seen.push(req.route?.path);
      res.sendStatus(204);
    });
    const url = await start(a);
    await fetch(`${url}/traced/1`);
    await fetch(`${url}/open/2`);
    expect(seen).toEqual(['/traced/:id', '/open/:id', true]);
    const spans = await fixture.h.serverSpans();
    expect(spans.map((s) => s.name)).toEqual(['GET /traced/:id']);
  });

  it('keeps req.baseUrl as Express sets it, in a mount and after it, on every request', async () => {
    const a = app();
    const seen: unknown[][] = [];
    const tenant = express.Router();
    tenant.get('/orders/:id', (req, _res, next) => {
      seen.push(['in the mount', req.baseUrl]);
      next();
    });
    a.use('/tenants/:tenant', tenant);
    a.get('/tenants/:tenant/orders/:id', (req, res) => {
      seen.push(['after the mount', req.baseUrl]);
      res.sendStatus(204);
    });
    const url = await start(a);
    await fetch(`${url}/tenants/acme/orders/7`);
    await fetch(`${url}/tenants/acme/orders/8`);
    expect(seen).toEqual([
      ['in the mount', '/tenants/acme'],
      ['after the mount', ''],
      ['in the mount', '/tenants/acme'],
      ['after the mount', ''],
    ]);
    const spans = await fixture.h.serverSpans(2);
    expect(spans.map((s) => s.attributes['http.route'])).toEqual([
      '/tenants/:tenant/orders/:id',
      '/tenants/:tenant/orders/:id',
    ]);
  });

  it('changes no prototype: the app’s, Express’s and Node’s request and response stay as they were', async () => {
    const a = app();
    a.get('/x', (_req, res) => {
      res.sendStatus(204);
    });
    const url = await start(a);
    await fetch(`${url}/x`);
    await fetch(`${url}/x`);
    const http = await import('node:http');
    for (const proto of [
      a.request,
      a.response,
      express.request,
      express.response,
      http.IncomingMessage.prototype,
      http.ServerResponse.prototype,
    ]) {
      expect(Object.hasOwn(proto, 'on')).toBe(false);
      expect(Object.hasOwn(proto, 'route')).toBe(false);
      expect(Object.hasOwn(proto, 'baseUrl')).toBe(false);
    }
  });
});

describe('keel() options', () => {
  it.each([
    [{ edge: 'yes' }, /keel: option edge must be a boolean, received "yes"/],
    [{ accessLog: 1 }, /keel: option accessLog must be a boolean, received 1/],
    [{ rejectExpiredDeadline: null }, /keel: option rejectExpiredDeadline must be a boolean, received null/],
    [
      { telemetry: {} },
      'keel: option telemetry must be a Telemetry handle (from startTelemetry() or currentTelemetry()), received an object',
    ],
    [{ ignore: '/ping' }, /keel: option ignore must be an array of at most 64 paths.*received "\/ping"/],
    [{ ignore: ['ping'] }, /keel: option ignore\[0\] must be a path starting with \/.*received "ping"/],
    [{ ignore: ['/ping?x=1'] }, /keel: option ignore\[0\] must be a path .*received "\/ping\?x=1"/],
    [{ edeg: true }, /keel: unknown option "edeg"; expected one of /],
  ])('rejects %o with a TypeError naming the option', (options, message) => {
    expect(() => keel(options as never)).toThrow(TypeError);
    expect(() => keel(options as never)).toThrow(message);
  });
});
