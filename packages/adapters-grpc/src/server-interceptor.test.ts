import * as grpc from '@grpc/grpc-js';
import { CircuitOpenError, getDeadline, RateLimitedError, TimeoutError } from '@keel/resilience';
import { getCorrelationId } from '@keel/telemetry';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { keelService } from './keel-service.js';
import { keelServerInterceptor } from './server-interceptor.js';
import { PUSHBACK_HEADER } from './status.js';
import { echoClient, listen, statusOf, type TestServer, unary } from './testing/service.js';

const t = startTestTelemetry({ serviceName: 'grpc-server-test' });
afterAll(() => t.shutdown());

let server: TestServer | undefined;
let client: grpc.Client | undefined;
beforeEach(() => t.reset());
afterEach(() => {
  client?.close();
  server?.close();
  client = undefined;
  server = undefined;
});

async function serve(implementation: grpc.UntypedServiceImplementation, options = {}) {
  server = await listen(
    new grpc.Server({ interceptors: [keelServerInterceptor({ telemetry: t.telemetry, ...options })] }),
    implementation,
  );
  const c = echoClient(server.address);
  client = c;
  return c;
}

async function serverCount(statusCode: string): Promise<number> {
  const text = (await t.telemetry.metrics.metricsText()).body;
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('rpc_server_call_duration_seconds_count{') &&
        l.includes('rpc_method="test.Echo/Unary"') &&
        l.includes(`rpc_status_code="${statusCode}"`),
    );
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

describe('keelServerInterceptor', () => {
  it("runs the handler in the caller's trace with its correlation ID, baggage and deadline", async () => {
    let seen: Record<string, unknown> = {};
    const c = await serve({
      unary(call: grpc.ServerUnaryCall<{ text: string }, unknown>, callback: grpc.sendUnaryData<unknown>) {
        seen = {
          traceId: trace.getActiveSpan()?.spanContext().traceId,
          correlationId: getCorrelationId(),
          baggage: propagation.getActiveBaggage()?.getEntry('tenant')?.value,
          deadlineLeft: (getDeadline() ?? 0) - performance.now(),
        };
        callback(null, { text: call.request.text });
      },
    });
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    metadata.set('x-correlation-id', 'order-42');
    metadata.set('baggage', 'tenant=acme');
    const reply = await unary(c, { text: 'hi' }, { deadline: Date.now() + 5_000 }, metadata);
    expect(reply).toEqual({ text: 'hi' });
    expect(seen).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      correlationId: 'order-42',
      baggage: 'acme',
    });
    expect(seen.deadlineLeft).toBeGreaterThan(4_000);
    expect(seen.deadlineLeft).toBeLessThanOrEqual(5_000);
    const [span] = await t.spans(SpanKind.SERVER);
    expect(span?.name).toBe('test.Echo/Unary');
    expect(span?.attributes).toMatchObject({
      'rpc.system.name': 'grpc',
      'rpc.method': 'test.Echo/Unary',
      'rpc.response.status_code': 'OK',
    });
  });

  it('records rpc_server_call_duration_seconds and writes one log line per call', async () => {
    const c = await serve({
      unary: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: 'x' }),
    });
    const before = await serverCount('OK');
    await unary(c, { text: 'a' });
    expect(await serverCount('OK')).toBe(before + 1);
    const lines = t.records().filter((r) => r.msg === 'rpc completed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ rpc: { method: 'test.Echo/Unary', status_code: 'OK' }, level: 30 });
    expect(typeof lines[0]?.correlation_id).toBe('string');
  });

  it('answers DEADLINE_EXCEEDED without running the handler when the deadline is spent on arrival', async () => {
    let ran = false;
    const c = await serve({
      unary: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
        ran = true;
        cb(null, { text: 'late' });
      },
    });
    // The caller's own deadline is far off, but the Keel deadline it carries is spent.
    const metadata = new grpc.Metadata();
    metadata.set('x-keel-deadline-ms', '0');
    expect(await statusOf(unary(c, { text: 'a' }, {}, metadata))).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(ran).toBe(false);
    const [span] = await t.spans(SpanKind.SERVER);
    expect(span?.attributes['rpc.response.status_code']).toBe('DEADLINE_EXCEEDED');
  });

  it.each([
    ['a timeout', () => new TimeoutError(100, 'attempt'), grpc.status.DEADLINE_EXCEEDED, undefined],
    ['an open circuit', () => new CircuitOpenError('open', 2_500), grpc.status.UNAVAILABLE, '3000'],
    ['a rate limit', () => new RateLimitedError(800), grpc.status.RESOURCE_EXHAUSTED, '1000'],
    [
      'a dependency that could not be reached',
      () => Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' }),
      grpc.status.UNAVAILABLE,
      undefined,
    ],
  ])(
    'answers %s from a keelService handler with its status and pushback',
    async (_, make, code, pushback) => {
      const c = await serve(
        keelService(
          { unary: { path: '/test.Echo/Unary', requestStream: false, responseStream: false } as never },
          {
            async unary() {
              throw make();
            },
          },
        ),
      );
      const error = await unary(c, { text: 'a' }).catch((e: grpc.ServiceError) => e);
      expect((error as grpc.ServiceError).code).toBe(code);
      expect((error as grpc.ServiceError).details).not.toMatch(/after|ms/);
      expect((error as grpc.ServiceError).metadata.get(PUSHBACK_HEADER)[0]).toBe(pushback);
    },
  );

  it('keeps the status of an error that carries one, and keeps internal messages out of details', async () => {
    const c = await serve({
      unary: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        if (call.request.text === 'missing') cb({ code: grpc.status.NOT_FOUND, details: 'no such order' });
        else cb(new Error('password=hunter2 at db.internal:5432'));
      },
    });
    const missing = (await unary(c, { text: 'missing' }).catch((e) => e)) as grpc.ServiceError;
    expect([missing.code, missing.details]).toEqual([grpc.status.NOT_FOUND, 'no such order']);
    const broken = (await unary(c, { text: 'boom' }).catch((e) => e)) as grpc.ServiceError;
    expect(broken.code).toBe(grpc.status.UNKNOWN);
    expect(broken.details).toBe('Unknown error');
    const spans = await t.spans(SpanKind.SERVER);
    expect(spans.map((s) => s.attributes['rpc.response.status_code'])).toEqual(['NOT_FOUND', 'UNKNOWN']);
    expect(spans.map((s) => s.status.code)).toEqual([SpanStatusCode.UNSET, SpanStatusCode.ERROR]);
  });

  it("starts a new trace linked to the caller's at an edge, and drops inbound baggage", async () => {
    let baggage: unknown = 'unset';
    const c = await serve(
      {
        unary: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
          baggage = propagation.getActiveBaggage()?.getEntry('tenant');
          cb(null, { text: 'x' });
        },
      },
      { edge: true },
    );
    const metadata = new grpc.Metadata();
    metadata.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    metadata.set('baggage', 'tenant=acme');
    await unary(c, { text: 'a' }, {}, metadata);
    const [span] = await t.spans(SpanKind.SERVER);
    expect(span?.spanContext().traceId).not.toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span?.links[0]?.context.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(baggage).toBeUndefined();
  });

  it('rejects unknown options naming them', () => {
    expect(() => keelServerInterceptor({ edgy: true } as never)).toThrow(
      /keelServerInterceptor: unknown option "edgy"/,
    );
    expect(() => keelServerInterceptor({ edge: 'yes' } as never)).toThrow(
      'keelServerInterceptor: option edge must be a boolean, received "yes"',
    );
  });
});
