import { defaultTextMapGetter, defaultTextMapSetter, SpanKind } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { testCore } from '../testing/test-core.js';
import { startRpcClient, startRpcServer } from './rpc.js';

describe('rpc operations', () => {
  it('names spans {package.Service}/{Method} and propagates from client to server', async () => {
    const core = testCore();
    const metadata: Record<string, string> = {};
    const method = { service: 'shop.Inventory', method: 'Reserve' };
    const client = startRpcClient(core, {
      ...method,
      carrier: metadata,
      setter: defaultTextMapSetter,
      host: 'inventory',
    });
    const server = startRpcServer(core, { ...method, carrier: metadata, getter: defaultTextMapGetter });
    server.end({ statusCode: 'OK' });
    client.end({ statusCode: 'OK' });
    const spans = await core.finished();
    const s = spans.find((x) => x.kind === SpanKind.SERVER);
    const c = spans.find((x) => x.kind === SpanKind.CLIENT);
    expect(s?.name).toBe('shop.Inventory/Reserve');
    expect(s?.parentSpanContext?.spanId).toBe(c?.spanContext().spanId);
    expect(s?.attributes).toMatchObject({
      'rpc.system.name': 'grpc',
      'rpc.method': 'shop.Inventory/Reserve',
      'rpc.response.status_code': 'OK',
    });
  });

  it('treats NOT_FOUND as a client-side failure but not a server fault', async () => {
    const core = testCore();
    const method = { service: 'shop.Inventory', method: 'Get' };
    startRpcServer(core, { ...method, carrier: {}, getter: defaultTextMapGetter }).end({
      statusCode: 'NOT_FOUND',
    });
    startRpcClient(core, { ...method, carrier: {}, setter: defaultTextMapSetter, host: 'x' }).end({
      statusCode: 'NOT_FOUND',
    });
    const text = (await core.metrics.metricsText()).body;
    expect(text).toMatch(
      /rpc_server_call_duration_seconds_count\{(?![^}]*error_type)[^}]*rpc_status_code="NOT_FOUND"[^}]*\} 1/,
    );
    expect(text).toMatch(/rpc_client_call_duration_seconds_count\{[^}]*error_type="NOT_FOUND"[^}]*\} 1/);
  });
});
