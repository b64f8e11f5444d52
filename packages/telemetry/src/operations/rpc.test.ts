import { getDeadline, setDeadline } from '@keel/resilience';
import { context, defaultTextMapGetter, defaultTextMapSetter, SpanKind } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { testCore } from '../testing/test-core.js';
import { GRPC_STATUS_NAMES, grpcStatusName, rpcMethodOf, startRpcClient, startRpcServer } from './rpc.js';

describe('rpc operations', () => {
  it('names spans {package.Service}/{Method} and propagates from client to server', async () => {
    const core = testCore();
    const metadata: Record<string, string> = {};
    const method = { service: 'shop.Inventory', method: 'Reserve' };
    const client = startRpcClient(core, { ...method, host: 'inventory' });
    client.inject(metadata, defaultTextMapSetter);
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
    startRpcClient(core, { ...method, host: 'x' }).end({ statusCode: 'NOT_FOUND' });
    const text = (await core.metrics.metricsText()).body;
    expect(text).toMatch(
      /rpc_server_call_duration_seconds_count\{(?![^}]*error_type)[^}]*rpc_status_code="NOT_FOUND"[^}]*\} 1/,
    );
    expect(text).toMatch(/rpc_client_call_duration_seconds_count\{[^}]*error_type="NOT_FOUND"[^}]*\} 1/);
  });

  it('writes one log line per served call with its method, status and correlation ID', () => {
    const core = testCore();
    const op = startRpcServer(core, {
      service: 'shop.Inventory',
      method: 'Get',
      carrier: { 'x-correlation-id': 'abc-1' },
      getter: defaultTextMapGetter,
    });
    op.end({ statusCode: 'UNAVAILABLE' });
    op.end({ statusCode: 'OK' });
    expect(core.lines).toHaveLength(1);
    expect(core.lines[0]).toMatchObject({
      level: 50,
      msg: 'rpc completed',
      correlation_id: 'abc-1',
      rpc: { method: 'shop.Inventory/Get', status_code: 'UNAVAILABLE' },
      error_type: 'UNAVAILABLE',
    });
  });

  it('gives the server the nearer of the carried and the transport deadline', () => {
    const core = testCore();
    const soon = performance.now() + 50;
    const op = startRpcServer(core, {
      service: 's.S',
      method: 'M',
      carrier: { 'x-keel-deadline-ms': '60000' },
      getter: defaultTextMapGetter,
      deadline: soon,
    });
    expect(getDeadline(op.context)).toBe(soon);
  });

  it("bounds the client call by the caller's inherited deadline when it is nearer than its own", () => {
    const core = testCore();
    const inherited = performance.now() + 100;
    const op = context.with(setDeadline(context.active(), inherited), () =>
      startRpcClient(core, { service: 's.S', method: 'M', host: 'h', deadline: inherited + 5_000 }),
    );
    expect(op.deadline).toBe(inherited);
    const own = startRpcClient(core, { service: 's.S', method: 'M', host: 'h', deadline: inherited - 50 });
    expect(own.deadline).toBe(inherited - 50);
  });

  it('sends traceparent alone to a host outside the allow-list', () => {
    const core = testCore({ allowed: (host) => host === 'inside' });
    const carrier: Record<string, string> = {};
    const op = startRpcClient(core, { service: 's.S', method: 'M', host: 'outside' });
    op.run(() => op.inject(carrier, defaultTextMapSetter));
    expect(Object.keys(carrier)).toEqual(['traceparent']);
  });

  it('records message counts on the span of a streaming call', async () => {
    const core = testCore();
    startRpcClient(core, { service: 's.S', method: 'M', host: 'h' }).end({
      statusCode: 'OK',
      messagesSent: 3,
      messagesReceived: 7,
    });
    const [span] = await core.finished();
    expect(span?.attributes).toMatchObject({ 'keel.rpc.messages_sent': 3, 'keel.rpc.messages_received': 7 });
  });

  it.each([
    ['/shop.Inventory/Get', 'shop.Inventory', 'Get'],
    ['/Get', '_OTHER', '_OTHER'],
    ['/a/b/c', '_OTHER', '_OTHER'],
    [`/${'x'.repeat(500)}/M`, '_OTHER', '_OTHER'],
    ['/svc/Me\nthod', '_OTHER', '_OTHER'],
  ])('reads the method of path %j as %s/%s', (path, service, method) => {
    expect(rpcMethodOf(path)).toEqual({ service, method });
  });

  it('names the sixteen standard status codes and calls anything else UNKNOWN', () => {
    expect(GRPC_STATUS_NAMES).toHaveLength(17);
    expect(grpcStatusName(14)).toBe('UNAVAILABLE');
    expect(grpcStatusName(99)).toBe('UNKNOWN');
  });
});
