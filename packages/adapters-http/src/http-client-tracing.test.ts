import { runWithDeadline } from '@keel/resilience';
import { startHttpServer } from '@keel/telemetry/adapter';
import { defaultTextMapGetter, SpanKind } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpClient } from './http-client.js';
import { answer, type TestServer, testServer } from './testing/server.js';
import { type TestTelemetry, testTelemetry } from './testing/telemetry.js';

const RETRY = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };
const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

// Built before startTelemetry(), as a module-level client would be: it must still report to it.
let early: ReturnType<typeof httpClient> | undefined = httpClient({ name: 'early' });

let t: TestTelemetry;
let server: TestServer | undefined;
let client: ReturnType<typeof httpClient> | undefined;

beforeAll(() => {
  t = testTelemetry();
});
afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
  t.exporter.reset();
});
afterAll(async () => {
  await early?.close();
  early = undefined;
  await t.stop();
});

const clientSpans = async () => (await t.spans()).filter((s) => s.kind === SpanKind.CLIENT);

describe('httpClient tracing', () => {
  it('makes each hedged attempt its own client span with http.request.resend_count, and aborts the one that lost', async () => {
    let firstClosed: Promise<void> | undefined;
    server = await testServer((req, res, n) => {
      // The first request hangs until the client aborts it; the hedge is answered at once.
      if (n === 1) firstClosed = new Promise((resolve) => req.socket.once('close', resolve));
      else answer(res, 200);
    });
    client = httpClient({
      name: 'search',
      baseUrl: server.url,
      hedge: { delayMs: 20 },
      circuitBreaker: false,
    });
    const res = await client.get('/q');
    expect(res.status).toBe(200);
    await firstClosed;
    const spans = await clientSpans();
    expect(spans.map((s) => s.attributes['http.request.resend_count']).sort()).toEqual([1, undefined]);
    const loser = spans.find((s) => s.attributes['http.request.resend_count'] === undefined);
    expect(loser?.attributes['error.type']).toBe('KEEL_ERR_CANCELLED');
    expect(loser?.status.message).toMatch(/another hedged attempt answered first/);
  });

  it('creates one client span per physical attempt, with http.request.resend_count on the second and third', async () => {
    server = await testServer((_req, res, n) => answer(res, n < 3 ? 503 : 200));
    client = httpClient({ name: 'inventory', baseUrl: server.url, retry: RETRY });
    const res = await client.get('/items/7');
    expect(res.status).toBe(200);
    const spans = await clientSpans();
    expect(spans.map((s) => s.name)).toEqual(['GET', 'GET', 'GET']);
    expect(spans.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1, 2]);
    expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([503, 503, 200]);
  });

  it("sends the attempt span's traceparent and the caller's correlation ID to the server", async () => {
    server = await testServer();
    client = httpClient({ name: 'inventory', baseUrl: server.url });
    const inbound = startHttpServer(t.telemetry, {
      carrier: { traceparent: CALLER, 'x-correlation-id': 'order-42' },
      getter: defaultTextMapGetter,
      method: 'GET',
      accessLog: false,
    });
    await inbound.run(() => client!.get('/items').then((r) => r.dump()));
    inbound.end({ route: '/', statusCode: 200 });
    const [span] = await clientSpans();
    const { traceId, spanId } = span!.spanContext();
    expect(server.requests[0]?.headers.traceparent).toBe(`00-${traceId}-${spanId}-01`);
    expect(traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(server.requests[0]?.headers['x-correlation-id']).toBe('order-42');
  });

  it('sends the remaining deadline, which shrinks from one attempt to the next', async () => {
    server = await testServer((_req, res, n) => {
      if (n === 1) setTimeout(() => answer(res, 503), 30);
      else answer(res, 200);
    });
    client = httpClient({
      name: 'inventory',
      baseUrl: server.url,
      timeout: 1_000,
      totalTimeout: 1_000,
      retry: RETRY,
    });
    await client.get('/');
    const [first, second] = server.requests.map((r) => Number(r.headers['x-keel-deadline-ms']));
    expect(first).toBeLessThanOrEqual(1_000);
    expect(first).toBeGreaterThan(900);
    expect(second).toBeLessThanOrEqual(first! - 25);
  });

  it('fails fast with KEEL_ERR_TIMEOUT when the deadline is already spent, sending nothing', async () => {
    server = await testServer();
    client = httpClient({ name: 'inventory', baseUrl: server.url });
    await expect(runWithDeadline(0, () => client!.get('/'))).rejects.toMatchObject({
      code: 'KEEL_ERR_TIMEOUT',
    });
    expect(server.requests).toHaveLength(0);
  });

  it('bounds a call by its own timeout option, sent downstream as the deadline', async () => {
    server = await testServer();
    client = httpClient({ name: 'inventory', baseUrl: server.url });
    await (await client.get('/', { timeout: 300 })).dump();
    expect(Number(server.requests[0]?.headers['x-keel-deadline-ms'])).toBeLessThanOrEqual(300);
  });

  it.each([
    ['a plain path, without its query', '/stock/7?token=secret', '/api/stock/7'],
    ['a path with dot segments, as a URL resolves them', '/a/./b/../%2e%2e/stock', '/api/stock'],
    [
      'a path that looks like another host, on the baseUrl host',
      '//other.host/stock',
      '/api//other.host/stock',
    ],
    ['a path with a fragment, without it', '/stock#top', '/api/stock'],
  ])('records url.full of %s', async (_what, path, pathname) => {
    server = await testServer();
    client = httpClient({ name: 'inventory', baseUrl: `${server.url}/api` });
    await (await client.get(path)).dump();
    const [span] = await clientSpans();
    expect(span?.attributes['url.full']).toBe(`${server.url}${pathname}`);
    expect(span?.attributes['server.address']).toBe('127.0.0.1');
  });

  it('sends each call a traceparent of its own, leaving the client headers as they were', async () => {
    server = await testServer();
    const headers = { accept: 'application/json' };
    client = httpClient({ name: 'inventory', baseUrl: server.url, headers });
    await (await client.get('/a')).dump();
    await (await client.get('/b')).dump();
    const sent = server.requests.map((r) => r.headers.traceparent);
    expect(sent[0]).not.toBe(sent[1]);
    expect(server.requests.map((r) => r.headers.accept)).toEqual(['application/json', 'application/json']);
    expect(headers).toEqual({ accept: 'application/json' });
  });

  it('reports to the telemetry started after the client was built', async () => {
    server = await testServer();
    await (await early!.get(`${server.url}/stock`)).dump();
    const spans = await clientSpans();
    expect(spans).toHaveLength(1);
    expect(spans[0]?.attributes['url.full']).toBe(`${server.url}/stock`);
  });
});
