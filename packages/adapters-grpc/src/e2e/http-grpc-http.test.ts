// Express + @keel/http in, gRPC in the middle, HTTP at the far end: one trace, one correlation ID.
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { keel } from '@keel/express';
import { httpClient } from '@keel/http';
import { getCorrelationId } from '@keel/telemetry';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { SpanKind } from '@opentelemetry/api';
import express from 'express';
import { afterAll, expect, it } from 'vitest';
import { keelClientInterceptor } from '../client-interceptor.js';
import { keelServerInterceptor } from '../server-interceptor.js';
import { type Echo, echoClient, listen, unary } from '../testing/service.js';

const t = startTestTelemetry({ serviceName: 'grpc-e2e' });
afterAll(() => t.shutdown());

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

async function listenHttp(app: express.Express) {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

it('carries one trace and one correlation ID from HTTP through gRPC to HTTP', async () => {
  const { telemetry } = t;
  const seen: Record<string, string | undefined> = {};

  const c = express();
  c.use(keel({ telemetry }));
  c.get('/stock', (req, res) => {
    seen.c = req.get('x-correlation-id');
    res.json({ inStock: true });
  });
  const httpC = await listenHttp(c);
  const toC = httpClient({ name: 'stock', baseUrl: httpC.url, telemetry });

  const grpcB = await listen(new grpc.Server({ interceptors: [keelServerInterceptor({ telemetry })] }), {
    unary(call: grpc.ServerUnaryCall<Echo, Echo>, callback: grpc.sendUnaryData<Echo>) {
      seen.b = getCorrelationId();
      toC
        .get('/stock')
        .then(
          async (res) => callback(null, { text: `${call.request.text}:${JSON.stringify(await res.json())}` }),
          callback,
        );
    },
  });
  const toB = keelClientInterceptor({ name: 'orders', telemetry });
  const clientB = echoClient(grpcB.address, { interceptors: [toB] });

  const a = express();
  a.use(keel({ telemetry }));
  a.get('/checkout', (_req, res, next) => {
    seen.a = getCorrelationId();
    unary(clientB, { text: 'order' }).then((reply) => res.json(reply), next);
  });
  const httpA = await listenHttp(a);

  try {
    const res = await fetch(`${httpA.url}/checkout`, {
      headers: { traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`, 'x-correlation-id': 'checkout-1' },
    });
    expect(await res.json()).toEqual({ text: 'order:{"inStock":true}' });
    expect(seen).toEqual({ a: 'checkout-1', b: 'checkout-1', c: 'checkout-1' });
    const spans = await t.spans();
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([TRACE_ID]));
    const servers = spans.filter((s) => s.kind === SpanKind.SERVER).map((s) => s.name);
    expect(servers.sort()).toEqual(['GET /checkout', 'GET /stock', 'test.Echo/Unary']);
    const grpcServer = spans.find((s) => s.name === 'test.Echo/Unary' && s.kind === SpanKind.SERVER);
    const grpcClient = spans.find((s) => s.name === 'test.Echo/Unary' && s.kind === SpanKind.CLIENT);
    const httpServerA = spans.find((s) => s.name === 'GET /checkout');
    expect(grpcServer?.parentSpanContext?.spanId).toBe(grpcClient?.spanContext().spanId);
    expect(grpcClient?.parentSpanContext?.spanId).toBe(httpServerA?.spanContext().spanId);
    const logged = t.records().filter((r) => r.msg === 'rpc completed' || r.msg === 'request completed');
    expect(logged.length).toBeGreaterThanOrEqual(3);
    expect(new Set(logged.map((r) => r.correlation_id))).toEqual(new Set(['checkout-1']));
  } finally {
    clientB.close();
    toB.close();
    grpcB.close();
    await toC.close();
    httpA.server.close();
    httpC.server.close();
  }
});
