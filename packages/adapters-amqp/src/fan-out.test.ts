// HTTP request → publish → two subscribers: one trace, one correlation ID, against Express and the real broker.
import type { AddressInfo } from 'node:net';
import { keel } from '@keel/express';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { SpanKind } from '@opentelemetry/api';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { consume, publish } from './index.js';
import { brokerAvailable, openBroker, uniqueName } from './testing/broker.js';
import { until } from './testing/wait.js';

const available = await brokerAvailable();
const t = startTestTelemetry({ serviceName: 'orders' });
afterAll(() => t.shutdown());

describe.skipIf(!available)('pub/sub fan-out from an HTTP request (real RabbitMQ)', () => {
  it('reads as one trace with both consumers as children of the publish, and one correlation ID in every log', async () => {
    const telemetry = t.telemetry;
    const broker = await openBroker();
    const exchange = uniqueName('events');
    broker.exchanges.push(exchange);
    await broker.channel.assertExchange(exchange, 'topic', { durable: false });
    const handled: string[] = [];
    const consumers = [];
    for (const subscriber of ['inventory', 'notifications']) {
      const queue = uniqueName(subscriber);
      const consumer = await consume(
        broker.channel,
        queue,
        (_order, { logger }) => {
          logger.info({ subscriber }, 'order received');
          handled.push(subscriber);
        },
        { telemetry, deadLetterExchange: `${queue}.dlx`, retry: { maxAttempts: 1 } },
      );
      broker.track(consumer);
      consumers.push(consumer);
      await broker.channel.bindQueue(queue, exchange, 'order.*');
    }
    const app = express();
    app.use(keel({ telemetry }));
    app.post('/orders', async (_req, res) => {
      await publish(broker.channel, exchange, 'order.created', { orderId: 'o-1' }, { telemetry });
      res.status(202).end();
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/orders`, {
        method: 'POST',
        headers: { 'x-correlation-id': 'checkout-42' },
      });
      expect(response.status).toBe(202);
      await until(() => handled.length === 2);
    } finally {
      for (const consumer of consumers) await consumer.close();
      await new Promise((resolve) => server.close(resolve));
      await broker.close();
    }
    const spans = await t.spans();
    const server_ = spans.find((s) => s.kind === SpanKind.SERVER);
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
    const processes = spans.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(producer?.name).toBe(`send ${exchange}`);
    expect(producer?.parentSpanContext?.spanId).toBe(server_?.spanContext().spanId);
    expect(processes).toHaveLength(2);
    for (const process of processes) {
      expect(process.spanContext().traceId).toBe(server_?.spanContext().traceId);
      expect(process.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    }
    const received = t.records().filter((r) => r.msg === 'order received');
    expect(received.map((r) => r.subscriber).sort()).toEqual(['inventory', 'notifications']);
    for (const record of received) {
      expect(record).toMatchObject({
        correlation_id: 'checkout-42',
        trace_id: server_?.spanContext().traceId,
        service: 'orders',
      });
    }
  });
});
