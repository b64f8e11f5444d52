import * as grpc from '@grpc/grpc-js';
import { runWithDeadline } from '@keel/resilience';
import { runWithCorrelationId } from '@keel/telemetry';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type KeelClientInterceptor, keelClientInterceptor } from './client-interceptor.js';
import { PREVIOUS_ATTEMPTS_HEADER } from './internal/unary-call.js';
import { keelServerInterceptor } from './server-interceptor.js';
import { PUSHBACK_HEADER } from './status.js';
import {
  type EchoClientApi,
  echoClient,
  histogramCount,
  listen,
  statusOf,
  type TestServer,
  unary,
} from './testing/service.js';

const t = startTestTelemetry({ serviceName: 'grpc-client-test' });
afterAll(() => t.shutdown());

let servers: TestServer[] = [];
let clients: grpc.Client[] = [];
let interceptors: KeelClientInterceptor[] = [];
beforeEach(() => t.reset());
afterEach(() => {
  for (const c of clients) c.close();
  for (const s of servers) s.close();
  for (const i of interceptors) i.close();
  servers = [];
  clients = [];
  interceptors = [];
});

type Unary = (call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => void;

async function serve(handler: Unary, traced = true): Promise<TestServer> {
  const server = await listen(
    new grpc.Server(traced ? { interceptors: [keelServerInterceptor({ telemetry: t.telemetry })] } : {}),
    { unary: handler },
  );
  servers.push(server);
  return server;
}

function connect(address: string, options: Parameters<typeof keelClientInterceptor>[0]): EchoClientApi {
  const interceptor = keelClientInterceptor({ telemetry: t.telemetry, ...options });
  interceptors.push(interceptor);
  const client = echoClient(address, { interceptors: [interceptor] });
  clients.push(client);
  return client;
}

const unavailable = (pushbackMs?: string): grpc.ServerErrorResponse => {
  const metadata = new grpc.Metadata();
  if (pushbackMs !== undefined) metadata.set(PUSHBACK_HEADER, pushbackMs);
  return Object.assign(new Error('down'), { code: grpc.status.UNAVAILABLE, details: 'down', metadata });
};

const unavailableCount = () =>
  histogramCount(t.telemetry.metrics, 'rpc_client_call_duration_seconds', { rpc_status_code: 'UNAVAILABLE' });

describe('keelClientInterceptor', () => {
  it('continues the trace client → server → second server with one correlation ID', async () => {
    const seen: string[] = [];
    const far = await serve((call, cb) => {
      seen.push(String(call.metadata.get('x-correlation-id')[0]));
      cb(null, { text: 'far' });
    });
    const farClient = connect(far.address, { name: 'far' });
    const near = await serve((call, cb) => {
      seen.push(String(call.metadata.get('x-correlation-id')[0]));
      unary(farClient, { text: call.request.text }).then((r) => cb(null, r), cb);
    });
    const client = connect(near.address, { name: 'near' });
    const root = t.telemetry.tracer.startSpan('root');
    await context.with(trace.setSpan(context.active(), root), () =>
      runWithCorrelationId('order-7', () => unary(client, { text: 'go' })),
    );
    root.end();
    const spans = await t.spans();
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([root.spanContext().traceId]));
    expect(spans.filter((s) => s.kind === SpanKind.CLIENT).map((s) => s.name)).toEqual([
      'test.Echo/Unary',
      'test.Echo/Unary',
    ]);
    const [first, second] = spans.filter((s) => s.kind === SpanKind.SERVER).reverse();
    expect(second?.parentSpanContext?.spanId).not.toBe(first?.parentSpanContext?.spanId);
    expect(seen).toEqual(['order-7', 'order-7']);
  });

  it('retries UNAVAILABLE for an idempotent method, honouring the pushback, with one event per retry', async () => {
    const attempts: string[] = [];
    const server = await serve((call, cb) => {
      attempts.push(String(call.metadata.get(PREVIOUS_ATTEMPTS_HEADER)[0] ?? '-'));
      if (attempts.length < 3) cb(unavailable('20'));
      else cb(null, { text: 'ok' });
    });
    const client = connect(server.address, { name: 'retrying', idempotent: true });
    const started = performance.now();
    expect(await unary(client, { text: 'a' })).toEqual({ text: 'ok' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(38);
    expect(attempts).toEqual(['-', '1', '2']);
    const [span] = await t.spans(SpanKind.CLIENT);
    expect(span?.events.filter((e) => e.name === 'retry')).toHaveLength(2);
    expect(span?.attributes['rpc.response.status_code']).toBe('OK');
  });

  it('stops retrying a dead server once the retry budget is spent', async () => {
    let calls = 0;
    const server = await serve((_call, cb) => {
      calls++;
      cb(unavailable('1'));
    });
    const client = connect(server.address, {
      name: 'budgeted',
      idempotent: true,
      circuitBreaker: false,
      retry: { maxAttempts: 3, budget: { maxTokens: 4 } },
    });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push(await statusOf(unary(client, { text: 'a' })));
    expect(new Set(codes)).toEqual(new Set([grpc.status.UNAVAILABLE]));
    // Unbounded, 5 calls × 3 attempts = 15; the budget's 4 tokens pay for 4 retries, nothing succeeds to
    // earn more, and every call after is sent once.
    expect(calls).toBe(9);
  });

  it('sends a method that is not marked idempotent once', async () => {
    let calls = 0;
    const server = await serve((_call, cb) => {
      calls++;
      cb(unavailable());
    });
    const client = connect(server.address, { name: 'once', idempotent: ['test.Echo/Other'] });
    expect(await statusOf(unary(client, { text: 'a' }))).toBe(grpc.status.UNAVAILABLE);
    expect(calls).toBe(1);
  });

  it('retries RESOURCE_EXHAUSTED only when the server gave a pushback hint', async () => {
    let calls = 0;
    let hint: string | undefined;
    const server = await serve((_call, cb) => {
      calls++;
      const metadata = new grpc.Metadata();
      if (hint !== undefined) metadata.set(PUSHBACK_HEADER, hint);
      cb({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'busy', metadata });
    });
    const client = connect(server.address, {
      name: 'exhausted',
      idempotent: true,
      retry: { maxAttempts: 2 },
    });
    expect(await statusOf(unary(client, { text: 'a' }))).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(calls).toBe(1);
    hint = '5';
    expect(await statusOf(unary(client, { text: 'a' }))).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(calls).toBe(3);
  });

  it('stops retrying when the server pushes back with a negative value', async () => {
    let calls = 0;
    const server = await serve((_call, cb) => {
      calls++;
      cb(unavailable('-1'));
    });
    const client = connect(server.address, { name: 'stop', idempotent: true });
    expect(await statusOf(unary(client, { text: 'a' }))).toBe(grpc.status.UNAVAILABLE);
    expect(calls).toBe(1);
  });

  it("sends the nearer of the call's own deadline and the inherited one", async () => {
    let left = 0;
    const server = await serve((call, cb) => {
      left = (call.getDeadline() as number) - Date.now();
      cb(null, { text: 'x' });
    });
    const client = connect(server.address, { name: 'deadline' });
    await runWithDeadline(300, () => unary(client, { text: 'a' }, { deadline: Date.now() + 10_000 }));
    expect(left).toBeGreaterThan(150);
    expect(left).toBeLessThanOrEqual(300);
    await runWithDeadline(10_000, () => unary(client, { text: 'a' }, { deadline: Date.now() + 200 }));
    expect(left).toBeLessThanOrEqual(200);
  });

  it('answers UNAVAILABLE without calling once the breaker is open, and records the client histogram', async () => {
    let calls = 0;
    const server = await serve((_call, cb) => {
      calls++;
      cb(unavailable());
    });
    const client = connect(server.address, {
      name: 'breaking',
      retry: false,
      circuitBreaker: { consecutiveFailures: 2, breakDurationMs: 60_000 },
    });
    const before = await unavailableCount();
    await statusOf(unary(client, { text: 'a' }));
    await statusOf(unary(client, { text: 'a' }));
    const error = (await unary(client, { text: 'a' }).catch((e) => e)) as grpc.ServiceError;
    expect(error.code).toBe(grpc.status.UNAVAILABLE);
    expect(error.details).toMatch(/circuit/);
    expect(calls).toBe(2);
    expect(await unavailableCount()).toBe(before + 3);
  });

  it('rejects bad options naming the option and the value', () => {
    expect(() => keelClientInterceptor({} as never)).toThrow(/option name must be a non-empty string/);
    expect(() => keelClientInterceptor({ name: 'x', idempotent: ['nope'] })).toThrow(
      /option idempotent\[0\] must be .*received "nope"/,
    );
    expect(() => keelClientInterceptor({ name: 'x', maxPushbackMs: -1 })).toThrow(RangeError);
  });
});
