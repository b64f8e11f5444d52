import type { ResilienceEvent } from '@keel/resilience';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { httpRetryOn } from './classify.js';
import { type HttpClient, httpClient } from './http-client.js';
import { answer, refusedUrl, type TestServer, testServer } from './testing/server.js';
import { type TestTelemetry, testTelemetry } from './testing/telemetry.js';

const RETRY = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

let t: TestTelemetry;
let server: TestServer | undefined;
let client: HttpClient | undefined;

beforeAll(() => {
  t = testTelemetry();
});
afterEach(async () => {
  vi.useRealTimers();
  await client?.close();
  await server?.close();
  client = server = undefined;
});
afterAll(() => t.stop());

/** Collects the retry delays the pipeline decided on. */
function retryDelays(c: HttpClient): number[] {
  const delays: number[] = [];
  c.pipeline.onEvent((e: ResilienceEvent) => {
    if (e.kind === 'retry') delays.push(e.delayMs ?? -1);
  });
  return delays;
}

describe('httpClient retries', () => {
  it('waits for the Retry-After of a 503 before retrying', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    server = await testServer((_req, res, n) =>
      answer(res, n === 1 ? 503 : 200, '', n === 1 ? { 'retry-after': 2 } : {}),
    );
    client = httpClient({ name: 'quotes', baseUrl: server.url, retry: RETRY });
    const scheduled = new Promise<number | undefined>((resolve) =>
      client!.pipeline.onEvent((e) => e.kind === 'retry' && resolve(e.delayMs)),
    );
    const call = client.get('/');
    expect(await scheduled).toBe(2_000);
    await vi.advanceTimersByTimeAsync(1_990);
    expect(server.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10);
    expect((await call).status).toBe(200);
    expect(server.requests).toHaveLength(2);
  });

  it('reads a Retry-After given as an HTTP-date', async () => {
    server = await testServer((_req, res, n) =>
      answer(res, n === 1 ? 429 : 200, '', n === 1 ? { 'retry-after': new Date(0).toUTCString() } : {}),
    );
    client = httpClient({ name: 'quotes', baseUrl: server.url, retry: RETRY });
    const delays = retryDelays(client);
    expect((await client.get('/')).status).toBe(200);
    expect(delays).toEqual([0]);
  });

  it('ignores a garbage Retry-After and backs off instead', async () => {
    server = await testServer((_req, res, n) =>
      answer(res, n === 1 ? 503 : 200, '', n === 1 ? { 'retry-after': 'soon-ish' } : {}),
    );
    client = httpClient({ name: 'quotes', baseUrl: server.url, retry: RETRY });
    const delays = retryDelays(client);
    expect((await client.get('/')).status).toBe(200);
    expect(delays[0]).toBeLessThanOrEqual(2);
  });

  it('returns the response at once when its Retry-After exceeds maxRetryAfterMs', async () => {
    server = await testServer((_req, res) => answer(res, 503, 'busy', { 'retry-after': 86_400 }));
    client = httpClient({ name: 'quotes', baseUrl: server.url, retry: RETRY, maxRetryAfterMs: 5_000 });
    const res = await client.get('/');
    expect(res.status).toBe(503);
    expect(await res.text()).toBe('busy');
    expect(server.requests).toHaveLength(1);
  });

  it('gives up at once when a Retry-After would overrun the deadline, returning the last response', async () => {
    server = await testServer((_req, res) => answer(res, 503, '', { 'retry-after': 5 }));
    client = httpClient({
      name: 'quotes',
      baseUrl: server.url,
      retry: RETRY,
      timeout: 500,
      totalTimeout: 1_000,
    });
    const started = performance.now();
    expect((await client.get('/')).status).toBe(503);
    expect(performance.now() - started).toBeLessThan(500);
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry a POST answered 503', async () => {
    server = await testServer((_req, res) => answer(res, 503));
    client = httpClient({ name: 'payments', baseUrl: server.url, retry: RETRY });
    expect((await client.post('/charges', { json: { amount: 5 } })).status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });

  it.each([
    ['the idempotencyKey option', { idempotencyKey: 'charge-1' }],
    ['an idempotency-key header', { headers: { 'Idempotency-Key': 'charge-1' } }],
  ])('retries a POST that carries %s, sending the same body and key', async (_what, extra) => {
    server = await testServer((_req, res, n) => answer(res, n === 1 ? 503 : 201));
    client = httpClient({ name: 'payments', baseUrl: server.url, retry: RETRY });
    expect((await client.post('/charges', { json: { amount: 5 }, ...extra })).status).toBe(201);
    expect(server.requests.map((r) => [r.body, r.headers['idempotency-key']])).toEqual([
      ['{"amount":5}', 'charge-1'],
      ['{"amount":5}', 'charge-1'],
    ]);
  });

  it('does not retry a POST whose connection was refused', async () => {
    const url = await refusedUrl();
    client = httpClient({ name: 'gone', baseUrl: url, retry: RETRY });
    const delays = retryDelays(client);
    await expect(client.post('/charges', { json: { amount: 5 } })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
    expect(delays).toHaveLength(0);
  });

  it('does not retry a POST answered 503 under a retryOn of the caller that would', async () => {
    server = await testServer((_req, res) => answer(res, 503));
    client = httpClient({ name: 'payments', baseUrl: server.url, retry: { ...RETRY, retryOn: () => true } });
    expect((await client.post('/charges', { json: { amount: 5 } })).status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });

  it('honours the client maxRetryAfterMs for a retryOn of the caller that delegates to httpRetryOn', async () => {
    server = await testServer((_req, res) => answer(res, 503, '', { 'retry-after': '2' }));
    client = httpClient({
      name: 'busy',
      baseUrl: server.url,
      maxRetryAfterMs: 1_000,
      retry: { ...RETRY, retryOn: (o) => httpRetryOn(o) },
    });
    expect((await client.get('/')).status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry a 404', async () => {
    server = await testServer((_req, res) => answer(res, 404));
    client = httpClient({ name: 'catalog', baseUrl: server.url, retry: RETRY });
    expect((await client.get('/missing')).status).toBe(404);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a refused connection and rejects with the connection error when attempts run out', async () => {
    const url = await refusedUrl();
    client = httpClient({ name: 'gone', baseUrl: url, retry: RETRY });
    const delays = retryDelays(client);
    await expect(client.get('/')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(delays).toHaveLength(2);
  });

  it('retries an attempt that timed out', async () => {
    server = await testServer((_req, res, n) =>
      n === 1 ? setTimeout(() => answer(res, 200, 'late'), 300) : answer(res, 200, 'fast'),
    );
    client = httpClient({ name: 'slow', baseUrl: server.url, retry: RETRY, timeout: 50 });
    expect(await (await client.get('/')).text()).toBe('fast');
  });

  it('drains the bodies of retried attempts, so a one-connection pool keeps serving', async () => {
    const page = 'x'.repeat(100 * 1024);
    server = await testServer((_req, res, n) => answer(res, n % 2 === 1 ? 503 : 200, page));
    client = httpClient({ name: 'pages', baseUrl: server.url, retry: RETRY, connections: 1, timeout: 2_000 });
    for (let i = 0; i < 3; i++) expect((await (await client.get('/')).text()).length).toBe(page.length);
    expect(server.requests).toHaveLength(6);
    expect(server.connections).toBe(1);
  });

  it('aborts the request in flight when its attempt times out: the server sees the connection close', async () => {
    const closed: number[] = [];
    server = await testServer((_req, res, n) => {
      res.once('close', () => closed.push(n));
    });
    client = httpClient({ name: 'stuck', baseUrl: server.url, timeout: 50, retry: false });
    await expect(client.get('/')).rejects.toMatchObject({ code: 'KEEL_ERR_TIMEOUT' });
    await vi.waitFor(() => expect(closed).toEqual([1]), { timeout: 1_000 });
  });

  it('aborts the request in flight when the caller cancels', async () => {
    const closed: number[] = [];
    server = await testServer((_req, res, n) => {
      res.once('close', () => closed.push(n));
    });
    client = httpClient({ name: 'stuck', baseUrl: server.url });
    const controller = new AbortController();
    const call = client.get('/', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toMatchObject({ code: 'KEEL_ERR_CANCELLED' });
    await vi.waitFor(() => expect(closed).toEqual([1]), { timeout: 1_000 });
  });

  it('cancels a call whose signal aborts, with KEEL_ERR_CANCELLED', async () => {
    server = await testServer(() => undefined);
    client = httpClient({ name: 'stuck', baseUrl: server.url });
    const controller = new AbortController();
    const call = client.get('/', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toMatchObject({ code: 'KEEL_ERR_CANCELLED' });
  });
});
