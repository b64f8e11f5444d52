import { isCircuitOpenError } from '@keel/resilience';
import { afterEach, describe, expect, it } from 'vitest';
import { type HttpClient, httpClient } from './http-client.js';
import { answer, type TestServer, testServer } from './testing/server.js';

let server: TestServer | undefined;
let client: HttpClient | undefined;

afterEach(async () => {
  await client?.close();
  await server?.close();
  client = server = undefined;
});

describe('httpClient circuit breaker', () => {
  it('does not count a 404 as a failure of the dependency', async () => {
    server = await testServer((_req, res) => answer(res, 404));
    client = httpClient({ name: 'catalog', baseUrl: server.url, circuitBreaker: { consecutiveFailures: 2 } });
    for (let i = 0; i < 3; i++) expect((await client.get('/missing')).status).toBe(404);
    expect(client.pipeline.circuitState).toBe('closed');
    expect(server.requests).toHaveLength(3);
  });

  it('opens on a failing downstream and then rejects without sending a request', async () => {
    server = await testServer((_req, res) => answer(res, 500));
    client = httpClient({
      name: 'ledger',
      baseUrl: server.url,
      retry: false,
      circuitBreaker: { consecutiveFailures: 3, breakDurationMs: 60_000 },
    });
    for (let i = 0; i < 3; i++) expect((await client.get('/')).status).toBe(500);
    const rejected = await client.get('/').catch((e: unknown) => e);
    expect(isCircuitOpenError(rejected)).toBe(true);
    expect(server.requests).toHaveLength(3);
  });

  it.each([408, 429, 503])('counts a %i as a failure of the dependency', async (status) => {
    server = await testServer((_req, res) => answer(res, status));
    client = httpClient({
      name: 'ledger',
      baseUrl: server.url,
      retry: false,
      circuitBreaker: { consecutiveFailures: 1 },
    });
    await (await client.get('/')).dump();
    expect(client.pipeline.circuitState).toBe('open');
  });
});
