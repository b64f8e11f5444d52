import { afterEach, describe, expect, it } from 'vitest';
import { HttpStatusError, isHttpStatusError } from './errors.js';
import { type HttpClient, httpClient } from './http-client.js';
import { answer, refusedUrl, type TestServer, testServer } from './testing/server.js';

let server: TestServer | undefined;
let client: HttpClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
});

describe('httpClient responses and errors', () => {
  it('returns a non-2xx response with its status classified', async () => {
    server = await testServer((_req, res) =>
      answer(res, 422, '{"error":"amount"}', { 'content-type': 'application/json' }),
    );
    client = httpClient({ name: 'payments', baseUrl: server.url });
    const res = await client.post('/charges', { json: {} });
    expect([res.ok, res.status, res.statusClass]).toEqual([false, 422, 'client-error']);
    expect(await res.json()).toEqual({ error: 'amount' });
  });

  it('throws an HttpStatusError with a stable code, the status and the body when throwOnError is set', async () => {
    server = await testServer((_req, res) => answer(res, 409, 'duplicate charge'));
    client = httpClient({ name: 'payments', baseUrl: server.url, throwOnError: true });
    const error = await client.post('/charges').catch((e: unknown) => e);
    expect(isHttpStatusError(error)).toBe(true);
    expect(error).toBeInstanceOf(HttpStatusError);
    expect(error).toMatchObject({
      code: 'KEEL_ERR_HTTP_STATUS',
      status: 409,
      statusClass: 'client-error',
      body: 'duplicate charge',
      client: 'payments',
    });
  });

  it('lets one call override throwOnError', async () => {
    server = await testServer((_req, res) => answer(res, 404));
    client = httpClient({ name: 'catalog', baseUrl: server.url, throwOnError: true });
    expect((await client.get('/x', { throwOnError: false })).status).toBe(404);
  });

  it('throws only after retries of a transient status are spent', async () => {
    server = await testServer((_req, res) => answer(res, 503));
    client = httpClient({
      name: 'catalog',
      baseUrl: server.url,
      throwOnError: true,
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
    });
    await expect(client.get('/')).rejects.toMatchObject({ status: 503 });
    expect(server.requests).toHaveLength(3);
  });

  it('recognises errors from another copy of the package by their brand', () => {
    const foreign = { [Symbol.for('keel.http.error')]: true, code: 'KEEL_ERR_HTTP_STATUS' };
    expect(isHttpStatusError(foreign)).toBe(true);
    expect(isHttpStatusError(new Error('x'))).toBe(false);
  });

  it('sends the query, the headers and a JSON body', async () => {
    server = await testServer((_req, res) => answer(res, 200, '{"ok":true}'));
    client = httpClient({ name: 'search', baseUrl: `${server.url}/api/`, headers: { 'X-Team': 'checkout' } });
    const res = await client.post('items', {
      query: { q: 'red shoe', tag: ['a', 'b'], skip: undefined },
      headers: { 'x-request-source': 'test' },
      json: { n: 1 },
    });
    expect(await res.json()).toEqual({ ok: true });
    const [seen] = server.requests;
    expect(seen?.url).toBe('/api/items?q=red+shoe&tag=a&tag=b');
    expect(seen?.headers).toMatchObject({
      'x-team': 'checkout',
      'x-request-source': 'test',
      'content-type': 'application/json',
    });
    expect(seen?.body).toBe('{"n":1}');
  });

  it('answers a failed call with the fallback', async () => {
    const url = await refusedUrl();
    const cached = { status: 200, ok: true } as never;
    client = httpClient({ name: 'prices', baseUrl: url, retry: false, fallback: () => cached });
    expect(await client.get('/')).toBe(cached);
  });
});
