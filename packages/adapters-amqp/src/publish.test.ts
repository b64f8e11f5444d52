import { pipeline } from '@keel/resilience';
import { runWithCorrelationId } from '@keel/telemetry';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consume, publish, send } from './index.js';
import { brokerAvailable, openBroker, type TestBroker, uniqueName } from './testing/broker.js';

const available = await brokerAvailable();
const t = startTestTelemetry({ serviceName: 'amqp-publish' });
const telemetry = t.telemetry;
afterAll(() => t.shutdown());

describe('publish options', () => {
  const channel = { addSetup: async () => {}, removeSetup: async () => {}, publish: async () => true };

  it.each([
    [() => publish({} as never, 'events', 'k', 1), /publish: argument channel must be a ConfirmChannel/],
    [
      () => publish(channel, 'events', 'k', 1, { confirmTimeout: 0 }),
      /option confirmTimeout must be an integer from 1/,
    ],
    [
      () => publish(channel, 'events', 'k', 1, { retries: 3 } as never),
      /publish: unknown option "retries"; expected one of /,
    ],
    [() => send(channel, '', 1), /send: argument queue must be a non-empty string/],
    [
      () => consume(channel, 'q', () => {}, { prefetch: 0 }),
      /consume: option prefetch must be an integer from 1 to 65535, received 0/,
    ],
    [
      () => consume(channel, 'q', () => {}, { retry: { maxAttempts: 0 } }),
      /consume: option retry.maxAttempts must be an integer from 1 to 100, received 0/,
    ],
    [
      () => consume(channel, 'q', () => {}, { pauseWhileOpen: {} as never }),
      /consume: option pauseWhileOpen must be a pipeline/,
    ],
  ])('rejects misuse at the call, naming the option and the value (%#)', async (call, message) => {
    await expect(async () => call()).rejects.toThrow(message);
  });
});

describe.skipIf(!available)('publish and send (real RabbitMQ)', () => {
  let broker: TestBroker;
  beforeEach(async () => {
    broker = await openBroker();
    t.reset();
  });
  afterEach(() => broker.close());

  it('resolves once the broker confirmed the message, with trace context and correlation ID in its headers', async () => {
    const queue = uniqueName('sent');
    broker.queues.push(queue);
    await broker.channel.assertQueue(queue, { durable: false });
    await runWithCorrelationId('checkout-7', () =>
      send(broker.channel, queue, { orderId: 1 }, { telemetry, messageId: 'o-1', persistent: true }),
    );
    const got = await broker.channel.get(queue, { noAck: true });
    const message = got === false ? undefined : got;
    expect(JSON.parse(String(message?.content))).toEqual({ orderId: 1 });
    expect(message?.properties).toMatchObject({
      messageId: 'o-1',
      contentType: 'application/json',
    });
    expect(message?.properties.headers).toMatchObject({
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$/),
      'x-correlation-id': 'checkout-7',
    });
    const [span] = await t.spans(SpanKind.PRODUCER);
    expect(span?.name).toBe(`send ${queue}`);
    expect(span?.attributes).toMatchObject({
      'messaging.message.id': 'o-1',
      'messaging.operation.type': 'send',
    });
    const text = await telemetry.metricsText();
    expect(text).toMatch(
      new RegExp(`messaging_client_sent_messages_total\\{[^}]*${queue.replaceAll('.', '\\.')}[^}]*\\} 1`),
    );
  });

  it('rejects, with the span failed, when the broker refuses the message on every attempt', async () => {
    const exchange = uniqueName('missing');
    // The broker closes the channel for a missing exchange; the application listens for that, as always.
    broker.channel.on('error', () => {});
    const once = pipeline(uniqueName('publish'), { retry: { maxAttempts: 2, baseDelayMs: 1 } });
    await expect(
      publish(broker.channel, exchange, 'k', 'x', { telemetry, pipeline: once, confirmTimeout: 2_000 }),
    ).rejects.toThrow();
    once.dispose();
    const [span] = await t.spans(SpanKind.PRODUCER);
    expect(span?.status.code).toBe(2);
  });
});
