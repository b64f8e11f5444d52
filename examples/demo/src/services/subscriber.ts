// inventory and notifications: each consumes its own queue bound to the orders topic exchange (pub/sub fan-out).
import { setTimeout as sleep } from 'node:timers/promises';
import { consume } from '@keel/amqp';
import amqp from 'amqplib';
import { brokerNames, MESSAGE_RETRY, orderNumber, ROUTING_KEY } from './messaging.js';
import { startService } from './runtime.js';

interface Order {
  orderId: string;
  sku: string;
  quantity: number;
}

const runtime = await startService();
const { config, telemetry } = runtime;
const subscriber = config.service;
if (config.amqpUrl === undefined) throw new Error(`${subscriber} needs amqpUrl`);

const connection = await amqp.connect(config.amqpUrl);
const channel = await connection.createConfirmChannel();
const names = brokerNames(config.run);
await channel.assertExchange(names.exchange, 'topic', { durable: true });
const queue = names.queue(subscriber);

/** inventory reserves stock; notifications sends a mail, and cannot for every 50th order (a "poison" message). */
async function handle(order: Order, attempt: number): Promise<void> {
  await sleep(2 + Math.random() * 8);
  if (subscriber !== 'notifications') return;
  const n = orderNumber(order.orderId);
  if (n % 50 === 0) throw new Error(`no mail template for order ${order.orderId}`);
  if (n % 20 === 7 && attempt === 1) throw new Error('mail relay busy');
}

const consumer = await consume<Order>(channel, queue, (order, { attempt }) => handle(order, attempt), {
  prefetch: 16,
  timeout: 5_000,
  retry: MESSAGE_RETRY,
  deadLetterExchange: names.deadLetterExchange,
  telemetry,
});
await channel.bindQueue(queue, names.exchange, ROUTING_KEY);

// The dead-letter queue's own consumer records what could not be handled (here: a warning log line), so
// `messaging_client_consumed_messages_total` of `{queue}.dead` counts the dead letters.
const deadLetters = await consume(
  channel,
  `${queue}.dead`,
  (_payload, { logger, message }) => {
    logger.warn({ reason: message.properties.headers?.['x-keel-dead-letter-reason'] }, 'order dead-lettered');
  },
  { declare: false, retry: { maxAttempts: 1 }, deadLetterExchange: names.deadLetterExchange, telemetry },
);

/** This run's queues go when the service stops (both subscribers try the shared exchanges; the last one wins). */
async function removeTopology(): Promise<void> {
  const { topology } = consumer;
  for (const name of [topology.queue, topology.deadQueue, ...topology.retryQueues.values()]) {
    await channel.deleteQueue(name);
  }
  for (const name of [names.deadLetterExchange, names.exchange]) await channel.deleteExchange(name);
}

await runtime.ready({
  drain: [consumer, deadLetters],
  close: [
    async () => {
      await removeTopology().catch(() => undefined);
      await connection.close();
    },
  ],
});
