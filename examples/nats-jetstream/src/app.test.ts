import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ordersApp } from './app.js';
import { consumeJetStream } from './jetstream.js';

const NATS_URL = process.env.NATS_URL ?? '127.0.0.1:4222';

async function natsAvailable(): Promise<boolean> {
  try {
    const probe = await connect({ servers: NATS_URL, timeout: 2_000, reconnect: false });
    await probe.close();
    return true;
  } catch (error) {
    if (process.env.CI === 'true')
      throw new Error(`NATS is required under CI at ${NATS_URL}`, { cause: error });
    console.warn(`skipping the NATS JetStream example tests: no NATS at ${NATS_URL}`);
    return false;
  }
}

async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const available = await natsAvailable();
const t = startTestTelemetry({ serviceName: 'orders' });
afterAll(() => t.shutdown());

describe.skipIf(!available)('NATS JetStream on the generic messaging wrapper (real NATS)', () => {
  let nc: NatsConnection;
  let stream: string;
  beforeEach(async () => {
    t.reset();
    nc = await connect({ servers: NATS_URL });
    stream = `KEEL_TEST_${randomUUID().slice(0, 8)}`;
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [`${stream}.>`] });
    await jsm.consumers.add(stream, {
      durable_name: 'worker',
      ack_policy: AckPolicy.Explicit,
      max_deliver: 10,
    });
  });
  afterEach(async () => {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(stream);
    await nc.close();
  });

  it('carries one trace and one correlation ID from an HTTP request through a JetStream message to its consumer', async () => {
    const telemetry = t.telemetry;
    const js = jetstream(nc);
    const handled: unknown[] = [];
    const consuming = consumeJetStream(
      await js.consumers.get(stream, 'worker'),
      (message, { logger }) => {
        logger.info('fulfilling order');
        handled.push(message.json());
      },
      { telemetry },
    );
    const server = ordersApp(js, { subject: `${stream}.created`, telemetry }).listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-correlation-id': 'order-req-9' },
        body: JSON.stringify({ orderId: 'o-9' }),
      });
      expect(response.status).toBe(202);
      await until(() => handled.length === 1, 'the order to be handled');
    } finally {
      await new Promise((resolve) => server.close(resolve));
      await consuming.close();
    }
    expect(handled).toEqual([{ orderId: 'o-9' }]);
    const spans = await t.spans();
    const inbound = spans.find((s) => s.kind === SpanKind.SERVER);
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
    const process = spans.find((s) => s.kind === SpanKind.CONSUMER);
    expect(producer?.parentSpanContext?.spanId).toBe(inbound?.spanContext().spanId);
    expect(process?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    expect(process?.spanContext().traceId).toBe(inbound?.spanContext().traceId);
    expect(process?.attributes).toMatchObject({
      'messaging.system': 'nats',
      'messaging.destination.name': stream,
    });
    const line = t.records().find((r) => r.msg === 'fulfilling order');
    expect(line).toMatchObject({ correlation_id: 'order-req-9', trace_id: inbound?.spanContext().traceId });
  });

  it('naks a failed delivery with the backoff delay and terms it after the last attempt', async () => {
    const js = jetstream(nc);
    const attempts: number[] = [];
    const consuming = consumeJetStream(
      await js.consumers.get(stream, 'worker'),
      (_message, { attempt }) => {
        attempts.push(attempt);
        throw new Error('warehouse unavailable');
      },
      { telemetry: t.telemetry, retry: { maxAttempts: 3, baseDelayMs: 20 } },
    );
    try {
      await js.publish(`${stream}.created`, JSON.stringify({ orderId: 'o-1' }));
      await until(async () => {
        const info = await (await jetstreamManager(nc)).consumers.info(stream, 'worker');
        return attempts.length === 3 && info.num_ack_pending === 0 && info.num_pending === 0;
      }, 'the message to be termed');
    } finally {
      await consuming.close();
    }
    expect(attempts).toEqual([1, 2, 3]);
  });
});
