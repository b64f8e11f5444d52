import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TimeoutError } from '@keel/resilience';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type HttpClient, httpClient } from './http-client.js';
import { injectHeaders } from './inject-headers.js';
import { keelHandler, type RequestHandler } from './keel-handler.js';
import { type TestTelemetry, testTelemetry } from './testing/telemetry.js';

let t: TestTelemetry;
let server: Server | undefined;
let client: HttpClient | undefined;

beforeAll(() => {
  t = testTelemetry();
});
afterEach(async () => {
  await client?.close();
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
  }
  client = server = undefined;
  t.exporter.reset();
});
afterAll(() => t.stop());

async function serve(handler: RequestHandler): Promise<HttpClient> {
  server = createServer(
    keelHandler(handler, { route: (req) => (req.url?.startsWith('/orders/') ? '/orders/:id' : undefined) }),
  );
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  client = httpClient({ name: 'orders', baseUrl: `http://127.0.0.1:${port}`, retry: false });
  return client;
}

async function serverSpan() {
  for (let i = 0; i < 100; i++) {
    const span = (await t.spans()).find((s) => s.kind === SpanKind.SERVER);
    if (span !== undefined) return span;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('no server span');
}

describe('keelHandler', () => {
  it("continues the caller's trace and names the span by the route template when the response ends", async () => {
    const c = await serve((_req, res) => res.end('ok'));
    await (await c.get('/orders/42')).dump();
    const span = await serverSpan();
    const callerSpan = (await t.spans()).find((s) => s.kind === SpanKind.CLIENT)!;
    expect(span.name).toBe('GET /orders/:id');
    expect(span.parentSpanContext?.spanId).toBe(callerSpan.spanContext().spanId);
    expect(span.attributes['http.response.status_code']).toBe(200);
  });

  it('echoes the correlation ID on the response', async () => {
    const c = await serve((_req, res) => res.end());
    const res = await c.get('/', { headers: { 'x-correlation-id': 'order-7' } });
    await res.dump();
    expect(res.headers['x-correlation-id']).toBe('order-7');
  });

  it('runs the handler in the request context, so its outbound calls continue the trace', async () => {
    let outbound: Record<string, string> = {};
    const c = await serve(async (_req, res) => {
      await Promise.resolve();
      outbound = injectHeaders({});
      res.end();
    });
    await (await c.get('/')).dump();
    expect(outbound.traceparent).toContain((await serverSpan()).spanContext().spanId);
  });

  it("answers a handler's Keel timeout with 504 and a generic failure with 500, each with keel()'s JSON body", async () => {
    const c = await serve(async (req) => {
      throw req.url === '/slow' ? new TimeoutError(100, 'attempt', 'inventory') : new Error('boom at db-7');
    });
    const slow = await c.get('/slow');
    expect(slow.status).toBe(504);
    expect(await slow.json()).toEqual({
      error: { code: 'KEEL_ERR_TIMEOUT', message: 'The request ran out of time.' },
    });
    const other = await c.get('/other');
    expect(other.status).toBe(500);
    expect(await other.text()).toBe('{"error":{"code":"INTERNAL","message":"Internal server error."}}');
  });

  it('answers 502 KEEL_ERR_DOWNSTREAM_FAILED when the handler’s dependency cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const payments = httpClient({ name: 'payments', baseUrl: `http://127.0.0.1:${port}`, retry: false });
    try {
      const c = await serve(async (_req, res) => {
        await payments.get('/charges/1');
        res.end();
      });
      const res = await c.get('/checkout');
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(
        'KEEL_ERR_DOWNSTREAM_FAILED',
      );
    } finally {
      await payments.close();
    }
  });

  it('leaves probe and scrape paths untraced, and those in ignore', async () => {
    server = createServer(keelHandler((_req, res) => res.end('ok'), { ignore: ['/internal/ping'] }));
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    for (const path of ['/healthz', '/readyz', '/metrics', '/internal/ping', '/orders/1']) {
      await (await fetch(`http://127.0.0.1:${port}${path}`)).text();
    }
    await serverSpan();
    const names = (await t.spans()).filter((s) => s.kind === SpanKind.SERVER).map((s) => s.name);
    expect(names).toEqual(['GET']);
  });

  it('rejects an ignore option that is not a list of paths, naming it', () => {
    expect(() => keelHandler(() => undefined, { ignore: ['healthz'] })).toThrow(
      /keelHandler: option ignore\[0\] must be a path starting with \/.*received "healthz"/,
    );
  });

  it('records 499 when the client goes away before the response', async () => {
    let arrive!: () => void;
    const arrived = new Promise<void>((resolve) => {
      arrive = resolve;
    });
    const c = await serve(() => {
      arrive();
    });
    const controller = new AbortController();
    const call = c.get('/orders/1', { signal: controller.signal });
    await arrived;
    controller.abort();
    await call.catch(() => undefined);
    const span = await serverSpan();
    expect(span.attributes['http.response.status_code']).toBe(499);
    expect(span.attributes['error.type']).toBe('KEEL_ERR_CANCELLED');
  });

  it('rejects a route option that is not a function, naming it', () => {
    expect(() => keelHandler(() => undefined, { route: '/x' as never })).toThrow(
      /keelHandler: option route must be a function .*received "\/x"/,
    );
  });

  describe('a caller deadline already spent on arrival', () => {
    async function listen(
      options: Parameters<typeof keelHandler>[1],
    ): Promise<{ url: string; ran: () => boolean }> {
      let ran = false;
      server = createServer(
        keelHandler((_req, res) => {
          ran = true;
          res.end('ok');
        }, options),
      );
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      return { url: `http://127.0.0.1:${port}/`, ran: () => ran };
    }

    it('answers 504 at once without running the handler, and records the timeout on the span', async () => {
      const { url, ran } = await listen({});
      const res = await fetch(url, { headers: { 'x-keel-deadline-ms': '0' } });
      expect(res.status).toBe(504);
      expect(ran()).toBe(false);
      const span = await serverSpan();
      expect(span.attributes['http.response.status_code']).toBe(504);
      expect(span.attributes['error.type']).toBe('KEEL_ERR_TIMEOUT');
    });

    it('runs the handler when rejectExpiredDeadline is false', async () => {
      const { url, ran } = await listen({ rejectExpiredDeadline: false });
      const res = await fetch(url, { headers: { 'x-keel-deadline-ms': '0' } });
      expect(res.status).toBe(200);
      expect(ran()).toBe(true);
    });

    it('rejects a rejectExpiredDeadline that is not a boolean at construction', () => {
      expect(() => keelHandler(() => undefined, { rejectExpiredDeadline: 'yes' as never })).toThrow(
        /rejectExpiredDeadline/,
      );
    });
  });
});
