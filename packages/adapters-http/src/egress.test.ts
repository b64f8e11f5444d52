import { startHttpServer } from '@keel/telemetry/adapter';
import { defaultTextMapGetter } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpClient } from './http-client.js';
import { injectHeaders } from './inject-headers.js';
import { type TestServer, testServer } from './testing/server.js';
import { type TestTelemetry, testTelemetry } from './testing/telemetry.js';

const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
let t: TestTelemetry;
let server: TestServer;

beforeAll(async () => {
  t = testTelemetry({ propagateTo: ['*.allowed.internal'] });
  server = await testServer();
});
afterAll(async () => {
  await server.close();
  await t.stop();
});

function inRequest<T>(fn: () => T): T {
  const op = startHttpServer(t.telemetry, {
    carrier: {
      traceparent: CALLER,
      tracestate: 'vendor=abc',
      'x-correlation-id': 'req-9',
      baggage: 'tenant=acme',
    },
    getter: defaultTextMapGetter,
    method: 'GET',
    accessLog: false,
  });
  return op.run(fn);
}

describe('egress allow-list', () => {
  it('sends a host outside propagateTo the traceparent only, not tracestate, baggage or the correlation ID', async () => {
    const client = httpClient({ name: 'outside', baseUrl: server.url });
    await inRequest(() => client.get('/').then((r) => r.dump()));
    await client.close();
    const { headers } = server.requests[0]!;
    expect(headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-/);
    expect(headers).not.toHaveProperty('tracestate');
    expect(headers).not.toHaveProperty('baggage');
    expect(headers).not.toHaveProperty('x-correlation-id');
  });

  it('lets injectHeaders send everything to an allowed host and the traceparent only elsewhere', () => {
    const allowed = inRequest(() => injectHeaders({}, { url: 'http://api.allowed.internal/x' }));
    const other = inRequest(() => injectHeaders({}, { url: 'https://api.example.com/x' }));
    const unknown = inRequest(() => injectHeaders({}));
    expect(allowed).toMatchObject({
      tracestate: 'vendor=abc',
      baggage: 'tenant=acme',
      'x-correlation-id': 'req-9',
    });
    expect(Object.keys(other)).toEqual(['traceparent']);
    expect(Object.keys(unknown)).toEqual(['traceparent']);
  });
});
