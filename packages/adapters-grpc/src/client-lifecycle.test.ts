import * as grpc from '@grpc/grpc-js';
import { CircuitOpenError } from '@keel/resilience';
import { OUTCOME_STATUS } from '@keel/telemetry/adapter';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { type KeelClientInterceptor, keelClientInterceptor } from './client-interceptor.js';
import { keelService } from './keel-service.js';
import { keelServerInterceptor } from './server-interceptor.js';
import {
  type Echo,
  type EchoClientApi,
  EchoService,
  echoClient,
  listen,
  statusOf,
  type TestServer,
  unary,
} from './testing/service.js';

const t = startTestTelemetry({ serviceName: 'grpc-client-lifecycle' });
afterAll(() => t.shutdown());

let server: TestServer;
let interceptor: KeelClientInterceptor | undefined;
let client: EchoClientApi | undefined;
let cancelled = 0;
let hanging = 0;
beforeEach(async () => {
  t.reset();
  cancelled = 0;
  hanging = 0;
  server = await listen(
    new grpc.Server({ interceptors: [keelServerInterceptor({ telemetry: t.telemetry })] }),
    keelService(EchoService, {
      unary(call: grpc.ServerUnaryCall<Echo, Echo>, callback: grpc.sendUnaryData<Echo>) {
        if (call.request.text === 'hang') {
          hanging++;
          call.on('cancelled', () => cancelled++);
          return;
        }
        if (call.request.text === 'down') return callback({ code: grpc.status.UNAVAILABLE, details: 'down' });
        callback(null, { text: call.request.text });
      },
      serverStream(call: grpc.ServerWritableStream<Echo, Echo>) {
        call.write({ text: 'one' });
        throw new CircuitOpenError('open', 1_000);
      },
    }),
  );
});
afterEach(() => {
  client?.close();
  interceptor?.close();
  server.close();
  client = undefined;
  interceptor = undefined;
});

function connect(options: Partial<Parameters<typeof keelClientInterceptor>[0]> = {}) {
  interceptor = keelClientInterceptor({ name: 'lifecycle', telemetry: t.telemetry, ...options });
  client = echoClient(server.address, { interceptors: [interceptor] });
  return client;
}

it('answers a failed unary call with the fallback message', async () => {
  const c = connect({ retry: false, fallback: { text: 'from the fallback' } });
  expect(await unary(c, { text: 'down' })).toEqual({ text: 'from the fallback' });
});

it("cancels the server's call when the caller cancels, and ends CANCELLED", async () => {
  const c = connect();
  // Made under a span of its own, so its client span is told apart from any other test's by its parent.
  const root = t.telemetry.tracer.startSpan('caller');
  const call = context.with(trace.setSpan(context.active(), root), () =>
    c.unary({ text: 'hang' }, new grpc.Metadata(), {}, () => {}),
  );
  const ended = new Promise<number>((resolve) =>
    call.on('status', (s: grpc.StatusObject) => resolve(s.code)),
  );
  // Cancelled once the server holds the call, not after a guess at how long that takes.
  await expect.poll(() => hanging).toBe(1);
  call.cancel();
  expect(await ended).toBe(grpc.status.CANCELLED);
  await expect.poll(() => cancelled).toBe(1);
  root.end();
  const span = (await t.spans(SpanKind.CLIENT)).find(
    (s) => s.parentSpanContext?.spanId === root.spanContext().spanId,
  );
  expect(span?.attributes['rpc.response.status_code']).toBe('CANCELLED');
});

it('ends calls in flight and refuses new ones with CANCELLED once closed', async () => {
  const c = connect();
  const inFlight = statusOf(unary(c, { text: 'hang' }));
  await expect.poll(() => hanging).toBe(1);
  interceptor!.close();
  expect(await inFlight).toBe(grpc.status.CANCELLED);
  expect(await statusOf(unary(c, { text: 'late' }))).toBe(grpc.status.CANCELLED);
});

it('ends a stream whose keelService handler throws a Keel outcome with its status', async () => {
  const c = connect();
  const stream = c.serverStream({ text: 'x' });
  const items: Echo[] = [];
  stream.on('data', (m: Echo) => items.push(m));
  const error = await new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
  expect(error.code).toBe(grpc.status.UNAVAILABLE);
  expect(error.details).toBe(OUTCOME_STATUS.KEEL_ERR_CIRCUIT_OPEN.message);
  expect(items).toEqual([{ text: 'one' }]);
});
