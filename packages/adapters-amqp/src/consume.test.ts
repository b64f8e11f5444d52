import { pipeline } from '@keel/resilience';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { SpanKind } from '@opentelemetry/api';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consume, MalformedMessageError, send } from './index.js';
import {
  brokerAvailable,
  deadLetters,
  drain,
  openBroker,
  type TestBroker,
  uniqueName,
} from './testing/broker.js';
import { until } from './testing/wait.js';

const available = await brokerAvailable();
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
const t = startTestTelemetry({ serviceName: 'amqp-test' });
const telemetry = t.telemetry;
afterAll(() => t.shutdown());

describe.skipIf(!available)('consume (real RabbitMQ)', () => {
  let broker: TestBroker;
  beforeEach(async () => {
    broker = await openBroker();
    t.reset();
  });
  afterEach(() => broker.close());

  function queueFor(prefix: string): string {
    const queue = uniqueName(prefix);
    broker.exchanges.push(`${queue}.dlx`);
    return queue;
  }

  it('runs the handler in the producer trace and acknowledges the message once it succeeded', async () => {
    const queue = queueFor('work');
    const seen: unknown[] = [];
    const consumer = await consume(broker.channel, queue, (payload) => void seen.push(payload), {
      telemetry,
      deadLetterExchange: `${queue}.dlx`,
      retry: { maxAttempts: 1 },
    });
    broker.track(consumer);
    await send(broker.channel, queue, { orderId: 7 }, { telemetry });
    await until(() => seen.length === 1);
    await consumer.close();
    expect(seen).toEqual([{ orderId: 7 }]);
    expect((await broker.channel.checkQueue(queue)).messageCount).toBe(0);
    const spans = await t.spans();
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
    const process = spans.find((s) => s.kind === SpanKind.CONSUMER);
    expect(producer?.name).toBe(`send ${queue}`);
    expect(process?.name).toBe(`process ${queue}`);
    expect(process?.spanContext().traceId).toBe(producer?.spanContext().traceId);
    expect(process?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    expect(process?.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.destination.name': queue,
      'messaging.rabbitmq.destination.routing_key': queue,
    });
  });

  it('retries a failed delivery through the retry queue with its attempt counted, then acknowledges it', async () => {
    const queue = queueFor('retry');
    const attempts: number[] = [];
    const consumer = await consume(
      broker.channel,
      queue,
      (_payload, { attempt }) => {
        attempts.push(attempt);
        if (attempt < 3) throw new Error('database unavailable');
      },
      { telemetry, deadLetterExchange: `${queue}.dlx`, retry: { maxAttempts: 3, baseDelayMs: 20 } },
    );
    broker.track(consumer);
    await send(broker.channel, queue, 'charge', { telemetry });
    await until(() => attempts.length === 3);
    await consumer.close();
    expect(attempts).toEqual([1, 2, 3]);
    expect(await drain(broker.channel, `${queue}.dead`)).toEqual([]);
  });

  it('dead-letters a poison message after maxAttempts with the reason and attempt count, never looping', async () => {
    const queue = queueFor('poison');
    let calls = 0;
    const consumer = await consume(
      broker.channel,
      queue,
      () => {
        calls++;
        throw new Error('cannot charge a closed account');
      },
      { telemetry, deadLetterExchange: `${queue}.dlx`, retry: { maxAttempts: 2, baseDelayMs: 10 } },
    );
    broker.track(consumer);
    await send(broker.channel, queue, { account: 'closed' }, { telemetry, messageId: 'm-1' });
    const dead = await deadLetters(broker.channel, queue, 1);
    await consumer.close();
    expect(calls).toBe(2);
    expect(dead[0]?.properties.messageId).toBe('m-1');
    expect(dead[0]?.properties.headers).toMatchObject({
      'x-keel-dead-letter-reason': 'max-attempts',
      'x-keel-attempts': 2,
      'x-keel-error': 'cannot charge a closed account',
    });
    expect(JSON.parse(String(dead[0]?.content))).toEqual({ account: 'closed' });
  });

  it('dead-letters a malformed body at once, without calling the handler', async () => {
    const queue = queueFor('malformed');
    let calls = 0;
    const consumer = await consume(broker.channel, queue, () => void calls++, {
      telemetry,
      deadLetterExchange: `${queue}.dlx`,
    });
    broker.track(consumer);
    broker.channel.publish('', queue, Buffer.from('{not json'), { contentType: 'application/json' });
    await broker.channel.waitForConfirms();
    const dead = await deadLetters(broker.channel, queue, 1);
    await consumer.close();
    expect(calls).toBe(0);
    expect(dead[0]?.properties.headers).toMatchObject({
      'x-keel-dead-letter-reason': 'malformed',
      'x-keel-attempts': 1,
    });
  });

  it('dead-letters at once what the handler marks malformed or retryOn refuses', async () => {
    const queue = queueFor('refused');
    const consumer = await consume(
      broker.channel,
      queue,
      (payload) => {
        if (payload === 'bad') throw new MalformedMessageError('amount missing');
        throw new RangeError('amount over limit');
      },
      { telemetry, deadLetterExchange: `${queue}.dlx`, retryOn: (error) => !(error instanceof RangeError) },
    );
    broker.track(consumer);
    await send(broker.channel, queue, 'bad', { telemetry });
    await send(broker.channel, queue, 'big', { telemetry });
    const dead = await deadLetters(broker.channel, queue, 2);
    await consumer.close();
    expect(dead.map((m) => m.properties.headers?.['x-keel-dead-letter-reason']).sort()).toEqual([
      'malformed',
      'rejected',
    ]);
  });

  it('counts a handler past its timeout as failed and aborts its signal', async () => {
    const queue = queueFor('slow');
    let aborted: unknown;
    const consumer = await consume(
      broker.channel,
      queue,
      (_payload, { signal }) =>
        new Promise<void>((resolve) =>
          signal.addEventListener('abort', () => {
            aborted = signal.reason;
            resolve();
          }),
        ),
      { telemetry, deadLetterExchange: `${queue}.dlx`, timeout: 50, retry: { maxAttempts: 1 } },
    );
    broker.track(consumer);
    await send(broker.channel, queue, 'slow', { telemetry });
    const dead = await deadLetters(broker.channel, queue, 1);
    await consumer.close();
    expect(aborted).toMatchObject({ code: 'KEEL_ERR_TIMEOUT' });
    expect(dead[0]?.properties.headers?.['x-keel-error-type']).toBe('KEEL_ERR_TIMEOUT');
  });

  it('bounds and ignores malicious headers: the message is processed in a fresh trace with a fresh correlation ID', async () => {
    const queue = queueFor('hostile');
    const seen: string[] = [];
    const consumer = await consume(
      broker.channel,
      queue,
      (_p, { correlationId }) => void seen.push(correlationId),
      {
        telemetry,
        deadLetterExchange: `${queue}.dlx`,
        retry: { maxAttempts: 1 },
      },
    );
    broker.track(consumer);
    broker.channel.publish('', queue, Buffer.from('x'), {
      headers: {
        traceparent: { nested: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        baggage: `k=${'v'.repeat(20_000)}`,
        tracestate: 12,
        'x-correlation-id': 'evil\nINFO forged log line',
        __proto__: { polluted: true },
        'x-keel-attempt': 'NaN',
      },
    });
    await broker.channel.waitForConfirms();
    await until(() => seen.length === 1);
    await consumer.close();
    expect(seen[0]).toMatch(/^[0-9a-f-]{36}$/);
    const process = (await t.spans(SpanKind.CONSUMER))[0];
    expect(process?.parentSpanContext).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('stops taking messages while the handler pipeline circuit is open and resumes when it lets a probe through', async () => {
    const queue = queueFor('breaker');
    const database = pipeline(uniqueName('db'), {
      retry: false,
      timeout: false,
      totalTimeout: false,
      circuitBreaker: { consecutiveFailures: 2, breakDurationMs: 300 },
    } as never);
    let databaseUp = false;
    const handled: string[] = [];
    const consumer = await consume(
      broker.channel,
      queue,
      (payload: string) =>
        database.execute(() => {
          if (!databaseUp) throw new Error('connection refused');
          handled.push(payload);
        }),
      {
        telemetry,
        deadLetterExchange: `${queue}.dlx`,
        prefetch: 1,
        pauseWhileOpen: database,
        retry: { maxAttempts: 5, baseDelayMs: 1000 },
      },
    );
    broker.track(consumer);
    for (const n of [1, 2, 3, 4, 5]) await send(broker.channel, queue, `m${n}`, { telemetry });
    await until(() => consumer.paused, 5_000, 'the consumer to pause');
    const waiting = (await broker.channel.checkQueue(queue)).messageCount;
    expect(waiting).toBeGreaterThanOrEqual(2);
    databaseUp = true;
    await until(() => handled.length === 5, 10_000, 'every message handled');
    expect(consumer.paused).toBe(false);
    await consumer.close();
    database.dispose();
  });

  it('close() waits for the handlers in flight, acknowledges them and leaves nothing of its own open', async () => {
    const queue = queueFor('close');
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    let finished = 0;
    const timersBefore = timers();
    const consumer = await consume(
      broker.channel,
      queue,
      async () => {
        started++;
        await gate;
        finished++;
      },
      { telemetry, deadLetterExchange: `${queue}.dlx`, prefetch: 4, retry: { maxAttempts: 1 } },
    );
    broker.track(consumer);
    // Published straight through amqplib: send()'s own pipeline timers are not the consumer's.
    for (const n of [1, 2, 3]) broker.channel.sendToQueue(queue, Buffer.from(String(n)));
    await broker.channel.waitForConfirms();
    await until(() => started === 3);
    const closing = consumer.close();
    let closed = false;
    void closing.then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(finished).toBe(3);
    expect(consumer.inFlight).toBe(0);
    // The test exporter hands spans over on a zero-delay timer of its own: let it finish first.
    await t.spans();
    expect(timers()).toBeLessThanOrEqual(timersBefore);
    const check = await broker.channel.checkQueue(queue);
    expect(check).toMatchObject({ messageCount: 0, consumerCount: 0 });
  });

  it('drain(signal) hands a handler still running at the end of the grace period back to the queue, unspent', async () => {
    const queue = queueFor('drain');
    let cancelled: unknown;
    let started = false;
    const consumer = await consume(
      broker.channel,
      queue,
      (_payload, { signal }) =>
        new Promise<void>((_resolve, reject) => {
          started = true;
          signal.addEventListener('abort', () => {
            cancelled = signal.reason;
            reject(signal.reason);
          });
        }),
      { telemetry, deadLetterExchange: `${queue}.dlx`, retry: { maxAttempts: 1 } },
    );
    broker.track(consumer);
    await send(broker.channel, queue, 'long job', { telemetry });
    await until(() => started);
    const grace = new AbortController();
    const draining = consumer.drain(grace.signal);
    grace.abort(new Error('grace period over'));
    await draining;
    expect(cancelled).toBeInstanceOf(Error);
    await until(async () => (await broker.channel.checkQueue(queue)).messageCount === 1);
    expect(await drain(broker.channel, `${queue}.dead`)).toEqual([]);
  });

  it('declares its topology idempotently: a second consumer of the same queue with the same options starts', async () => {
    const queue = queueFor('twice');
    const options = {
      telemetry,
      deadLetterExchange: `${queue}.dlx`,
      retry: { maxAttempts: 3, baseDelayMs: 50 },
    };
    const first = await consume(broker.channel, queue, () => {}, options);
    broker.track(first);
    const second = await consume(broker.channel, queue, () => {}, options);
    expect([...second.topology.retryQueues.values()]).toEqual([`${queue}.retry.50`, `${queue}.retry.100`]);
    expect((await broker.channel.checkQueue(queue)).consumerCount).toBe(2);
    await first.close();
    await second.close();
  });
});
