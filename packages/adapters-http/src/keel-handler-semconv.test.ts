import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type KeelHandlerOptions, keelHandler } from './keel-handler.js';
import { type TestTelemetry, testTelemetry } from './testing/telemetry.js';

let t: TestTelemetry;
let server: Server | undefined;

beforeAll(() => {
  t = testTelemetry();
});
afterEach(async () => {
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
  }
  server = undefined;
  await t.spans();
  t.reset();
});
afterAll(() => t.stop());

async function serve(options: KeelHandlerOptions = {}): Promise<number> {
  server = createServer(keelHandler((_req, res) => res.end('ok'), options));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Sends one request with node:http (raw method and path as given) and waits for the response's end. */
function send(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serverSpan() {
  for (let i = 0; i < 100; i++) {
    const span = (await t.spans()).find((s) => s.kind === SpanKind.SERVER);
    if (span !== undefined) return span;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('no server span');
}

describe('keelHandler server span attributes (stable HTTP semantic conventions)', () => {
  it('carries every required attribute and the recommended ones it knows, from a real request', async () => {
    const port = await serve();
    await send(port, 'GET', '/orders/42?token=abc', { 'user-agent': 'checkout/1.2' });
    const span = await serverSpan();
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'url.path': '/orders/42',
      'url.scheme': 'http',
      'http.response.status_code': 200,
      'server.address': '127.0.0.1',
      'server.port': port,
      'network.protocol.version': '1.1',
      'client.address': '127.0.0.1',
      'network.peer.address': '127.0.0.1',
      'user_agent.original': 'checkout/1.2',
    });
    expect(span.attributes['network.peer.port']).toEqual(expect.any(Number));
  });

  it('leaves the query string off the span unless recordQuery is set', async () => {
    const port = await serve();
    await send(port, 'GET', '/search?q=shoes&token=abc');
    expect((await serverSpan()).attributes['url.query']).toBeUndefined();
  });

  it('records the query with recordQuery, the values of sensitive keys redacted', async () => {
    const port = await serve({ recordQuery: true });
    await send(port, 'GET', '/search?q=shoes&token=abc&sig=xyz&Password=p');
    expect((await serverSpan()).attributes['url.query']).toBe(
      'q=shoes&token=REDACTED&sig=REDACTED&Password=REDACTED',
    );
  });

  it('names an unknown method HTTP, labels it _OTHER and keeps the original on the span only', async () => {
    const port = await serve();
    await send(port, 'PURGE', '/cache');
    const span = await serverSpan();
    expect(span.name).toBe('HTTP');
    expect(span.attributes['http.request.method']).toBe('_OTHER');
    expect(span.attributes['http.request.method_original']).toBe('PURGE');
  });

  it('never puts the raw path into a metric label', async () => {
    const port = await serve();
    await send(port, 'GET', '/users/u-8c1f2a/profile');
    await serverSpan();
    const { body } = await t.telemetry.metrics.metricsText();
    expect(body).not.toContain('u-8c1f2a');
  });
});
