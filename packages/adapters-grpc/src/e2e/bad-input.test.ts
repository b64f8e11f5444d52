// What a hostile or broken peer can send: nothing of it breaks a log line, reaches a span or mints series.
import * as http2 from 'node:http2';
import * as grpc from '@grpc/grpc-js';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, afterEach, beforeEach, expect, it } from 'vitest';
import { keelServerInterceptor } from '../server-interceptor.js';
import { type Echo, echoClient, listen, type TestServer, unary } from '../testing/service.js';

const t = startTestTelemetry({ serviceName: 'grpc-bad-input' });
afterAll(() => t.shutdown());

let server: TestServer;
let seenMetadata: grpc.Metadata | undefined;
beforeEach(async () => {
  t.reset();
  server = await listen(
    new grpc.Server({ interceptors: [keelServerInterceptor({ telemetry: t.telemetry })] }),
    {
      unary(call: grpc.ServerUnaryCall<Echo, Echo>, cb: grpc.sendUnaryData<Echo>) {
        seenMetadata = call.metadata;
        cb(null, { text: 'ok' });
      },
    },
  );
});
afterEach(() => server.close());

/** One unary call over a raw HTTP/2 stream, with headers grpc-js's own client would refuse to send. */
function rawCall(path: string, headers: Record<string, string>): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${server.address}`);
    session.on('error', reject);
    const body = Buffer.from(JSON.stringify({ text: 'raw' }));
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...headers,
    });
    let status: string | undefined;
    stream.on('response', (h) => {
      if (h['grpc-status'] !== undefined) status = String(h['grpc-status']);
    });
    stream.on('trailers', (h) => {
      status = String(h['grpc-status']);
    });
    stream.on('data', () => {});
    stream.on('close', () => {
      session.close();
      resolve(status);
    });
    stream.end(frame);
  });
}

it('starts a fresh trace and correlation ID for oversized or non-ASCII context, and still answers', async () => {
  const status = await rawCall('/test.Echo/Unary', {
    traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01${'x'.repeat(8_000)}`,
    'x-correlation-id': 'ünïcödé-\u00ff',
    baggage: `k=${'v'.repeat(9_000)}`,
    tracestate: 'é=1',
  });
  expect(status).toBe('0');
  const [span] = await t.spans(SpanKind.SERVER);
  expect(span?.spanContext().traceId).not.toBe('a'.repeat(32));
  expect(span?.parentSpanContext).toBeUndefined();
  const [line] = t.records().filter((r) => r.msg === 'rpc completed');
  expect(line?.correlation_id).toMatch(/^[0-9a-f-]{36}$/);
  expect(t.raw.every((chunk) => chunk.split('\n').filter(Boolean).length === 1 || chunk.endsWith('\n'))).toBe(
    true,
  );
});

it('never puts -bin metadata or other metadata values on spans or log lines', async () => {
  const client = echoClient(server.address);
  const metadata = new grpc.Metadata();
  metadata.set('secret-bin', Buffer.from('top-secret-bytes'));
  metadata.set('authorization', 'Bearer hunter2');
  try {
    await unary(client, { text: 'a' }, {}, metadata);
  } finally {
    client.close();
  }
  expect(seenMetadata?.get('secret-bin')[0]).toEqual(Buffer.from('top-secret-bytes'));
  const spans = await t.spans();
  const recorded = JSON.stringify(spans.map((s) => [s.attributes, s.events, s.links])) + t.raw.join('');
  expect(recorded).not.toMatch(/top-secret|dG9wLXNlY3JldC|hunter2|secret-bin/);
});

it('keeps metric series bounded when a client calls thousands of methods that do not exist', async () => {
  const series = async () =>
    (await t.telemetry.metrics.metricsText()).body
      .split('\n')
      .filter((l) => l.startsWith('rpc_server_call_duration_seconds_count')).length;
  const before = await series();
  const client = new grpc.Client(server.address, grpc.credentials.createInsecure());
  const codes = new Set<number>();
  try {
    await Promise.all(
      Array.from(
        { length: 2_000 },
        (_, i) =>
          new Promise<void>((resolve) =>
            client.makeUnaryRequest(
              `/evil.Service${i}/Method${i}`,
              (v: Buffer) => v,
              (v: Buffer) => v,
              Buffer.from('{}'),
              (error) => {
                codes.add(error?.code ?? 0);
                resolve();
              },
            ),
          ),
      ),
    );
  } finally {
    client.close();
  }
  expect([...codes]).toEqual([grpc.status.UNIMPLEMENTED]);
  expect(await series()).toBe(before);
});
