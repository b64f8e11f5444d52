// The real RabbitMQ on loopback that every test of this package talks to. Unreachable: a one-line notice
// and the tests skip, except under CI=true, where a missing broker is a failure.
import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Consumer } from '../consume.js';

export const BROKER_URL = process.env.KEEL_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** Connects once to see whether the broker is there; throws under CI when it is not. */
export async function brokerAvailable(): Promise<boolean> {
  try {
    const probe = await amqp.connect(BROKER_URL);
    await probe.close();
    return true;
  } catch (error) {
    if (process.env.CI === 'true')
      throw new Error(`RabbitMQ is required under CI at ${BROKER_URL}`, { cause: error });
    console.warn(`skipping @keel/amqp broker tests: no RabbitMQ at ${BROKER_URL}`);
    return false;
  }
}

/** A unique name for one test's queues and exchanges. */
export function uniqueName(prefix: string): string {
  return `keel-test.${prefix}.${randomUUID().slice(0, 8)}`;
}

/** A connection and a confirm channel, plus the names to delete when the test ends. */
export interface TestBroker {
  readonly connection: ChannelModel;
  readonly channel: ConfirmChannel;
  /** Queues and exchanges to delete afterwards. */
  readonly queues: string[];
  readonly exchanges: string[];
  /** Deletes what `consumer` declared when the test ends. */
  track(consumer: Consumer): void;
  close(): Promise<void>;
}

export async function openBroker(name = `keel-test-${randomUUID().slice(0, 8)}`): Promise<TestBroker> {
  const connection = await amqp.connect(BROKER_URL, { clientProperties: { connection_name: name } });
  const channel = await connection.createConfirmChannel();
  const queues: string[] = [];
  const exchanges: string[] = [];
  return {
    connection,
    channel,
    queues,
    exchanges,
    track(consumer) {
      const { queue, deadQueue, deadLetterExchange, retryQueues } = consumer.topology;
      queues.push(queue, deadQueue, ...retryQueues.values());
      exchanges.push(deadLetterExchange);
    },
    async close() {
      // A fresh channel: the test's own may have been closed by an error on purpose.
      const admin = await connection.createChannel();
      for (const queue of new Set(queues)) await admin.deleteQueue(queue);
      for (const exchange of new Set(exchanges)) await admin.deleteExchange(exchange);
      await admin.close();
      await connection.close();
    },
  };
}

/** Reads every message now in `queue` (acknowledging each), for assertions on dead letters. */
export async function drain(channel: ConfirmChannel, queue: string) {
  const out = [];
  for (;;) {
    const message = await channel.get(queue, { noAck: true });
    if (message === false) return out;
    out.push(message);
  }
}

/** Waits until `count` dead letters of `queue` arrived in `{queue}.dead`, and returns them. */
export async function deadLetters(channel: ConfirmChannel, queue: string, count: number, timeoutMs = 10_000) {
  const out: Awaited<ReturnType<typeof drain>> = [];
  const start = Date.now();
  while (out.length < count) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out waiting for ${count} dead letters of ${queue}`);
    out.push(...(await drain(channel, `${queue}.dead`)));
    if (out.length < count) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return out;
}
