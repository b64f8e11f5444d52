import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type KeelClientInterceptor, keelClientInterceptor } from './client-interceptor.js';
import { keelServerInterceptor } from './server-interceptor.js';
import { type Echo, type EchoClientApi, echoClient, listen, type TestServer } from './testing/service.js';

const t = startTestTelemetry({ serviceName: 'grpc-stream-test' });
afterAll(() => t.shutdown());

let server: TestServer;
let client: EchoClientApi;
let interceptor: KeelClientInterceptor;
let hold: ((call: grpc.ServerWritableStream<Echo, Echo>) => void) | undefined;

beforeEach(async () => {
  t.reset();
  hold = undefined;
  server = await listen(
    new grpc.Server({ interceptors: [keelServerInterceptor({ telemetry: t.telemetry })] }),
    {
      serverStream(call: grpc.ServerWritableStream<Echo, Echo>) {
        if (hold !== undefined) return hold(call);
        for (let i = 0; i < (call.request.n ?? 3); i++) call.write({ text: `${call.request.text}${i}` });
        call.end();
      },
      clientStream(call: grpc.ServerReadableStream<Echo, Echo>, callback: grpc.sendUnaryData<Echo>) {
        const texts: string[] = [];
        call.on('data', (m: Echo) => texts.push(m.text));
        call.on('end', () => callback(null, { text: texts.join(',') }));
      },
      bidi(call: grpc.ServerDuplexStream<Echo, Echo>) {
        call.on('data', (m: Echo) => call.write({ text: m.text.toUpperCase() }));
        call.on('end', () => call.end());
      },
    },
  );
  interceptor = keelClientInterceptor({ name: 'echo', telemetry: t.telemetry, timeout: 1_000 });
  client = echoClient(server.address, { interceptors: [interceptor] });
});
afterEach(() => {
  client.close();
  server.close();
  interceptor.close();
});

function collect<T>(stream: NodeJS.ReadableStream): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const items: T[] = [];
    stream.on('data', (item: T) => items.push(item));
    stream.on('error', reject);
    stream.on('end', () => resolve(items));
  });
}

async function spanPair(name: string) {
  const spans = (await t.spans()).filter((s) => s.name === name);
  const client = spans.find((s) => s.kind === SpanKind.CLIENT);
  const server = spans.find((s) => s.kind === SpanKind.SERVER);
  expect(server?.parentSpanContext?.spanId).toBe(client?.spanContext().spanId);
  return { client: client!.attributes, server: server!.attributes };
}

describe('streaming calls', () => {
  it('traces a server-streaming call to its end, with message counts on both sides', async () => {
    const items = await collect<Echo>(client.serverStream({ text: 'm', n: 4 }));
    expect(items).toHaveLength(4);
    const { client: c, server: s } = await spanPair('test.Echo/ServerStream');
    expect(c).toMatchObject({ 'rpc.response.status_code': 'OK', 'keel.rpc.messages_received': 4 });
    expect(s).toMatchObject({ 'rpc.response.status_code': 'OK', 'keel.rpc.messages_sent': 4 });
  });

  it('traces a client-streaming call, counting what the client sent', async () => {
    const reply = await new Promise<Echo>((resolve, reject) => {
      const call = client.clientStream(new grpc.Metadata(), {}, (error, response) =>
        error ? reject(error) : resolve(response!),
      );
      for (const text of ['a', 'b', 'c']) call.write({ text });
      call.end();
    });
    expect(reply).toEqual({ text: 'a,b,c' });
    const { client: c, server: s } = await spanPair('test.Echo/ClientStream');
    expect(c).toMatchObject({ 'keel.rpc.messages_sent': 3, 'keel.rpc.messages_received': 1 });
    expect(s).toMatchObject({ 'keel.rpc.messages_received': 3, 'keel.rpc.messages_sent': 1 });
  });

  it('traces a bidi call in both directions', async () => {
    const call = client.bidi();
    const done = collect<Echo>(call);
    call.write({ text: 'x' });
    call.write({ text: 'y' });
    call.end();
    expect((await done).map((m) => m.text)).toEqual(['X', 'Y']);
    const { client: c } = await spanPair('test.Echo/Bidi');
    expect(c).toMatchObject({
      'rpc.response.status_code': 'OK',
      'keel.rpc.messages_sent': 2,
      'keel.rpc.messages_received': 2,
    });
  });

  it('ends a stream that does not start within the attempt timeout with DEADLINE_EXCEEDED', async () => {
    // A peer that accepts connections and never speaks HTTP/2: the stream cannot start.
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const quick = keelClientInterceptor({ name: 'silent', telemetry: t.telemetry, timeout: 100 });
    const stuck = echoClient(`127.0.0.1:${port}`, { interceptors: [quick] });
    try {
      const error = await collect(stuck.serverStream({ text: 'x' })).catch((e: grpc.ServiceError) => e);
      expect((error as grpc.ServiceError).code).toBe(grpc.status.DEADLINE_EXCEEDED);
      const [span] = await t.spans(SpanKind.CLIENT);
      expect(span?.attributes['rpc.response.status_code']).toBe('DEADLINE_EXCEEDED');
    } finally {
      stuck.close();
      quick.close();
      silent.close();
    }
  });

  it('keeps a started stream open past the attempt timeout', async () => {
    hold = (call) => {
      call.write({ text: 'first' });
      setTimeout(() => {
        call.write({ text: 'late' });
        call.end();
      }, 1_300).unref();
    };
    const items = await collect<Echo>(client.serverStream({ text: 'x' }));
    expect(items.map((m) => m.text)).toEqual(['first', 'late']);
  });

  it('refuses to start a stream while the breaker is open', async () => {
    interceptor.pipeline.isolate();
    const error = await collect(client.serverStream({ text: 'x' })).catch((e: grpc.ServiceError) => e);
    expect((error as grpc.ServiceError).code).toBe(grpc.status.UNAVAILABLE);
    expect((await t.spans(SpanKind.SERVER)).length).toBe(0);
    interceptor.pipeline.reset();
  });
});
