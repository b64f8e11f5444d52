import type { MessagePolicy } from '@keel/telemetry/adapter';
import { retryDelayMs } from '@keel/telemetry/adapter';
import type { ConfirmChannel } from 'amqplib';

/** The names a consumer of `queue` declares (see the README's topology table). */
export interface ConsumerTopology {
  readonly queue: string;
  /** The exchange dead letters go to (direct, durable), routed by the queue's name. */
  readonly deadLetterExchange: string;
  /** The queue that holds the dead letters of `queue`: `{queue}.dead`. */
  readonly deadQueue: string;
  /** One retry queue per distinct delay: `{queue}.retry.{delayMs}`, its TTL dead-lettering back to `queue`. */
  readonly retryQueues: ReadonlyMap<number, string>;
}

/** The topology a consumer of `queue` with `policy` uses. */
export function consumerTopology(
  queue: string,
  deadLetterExchange: string,
  policy: MessagePolicy,
): ConsumerTopology {
  const retryQueues = new Map<number, string>();
  for (let attempt = 1; attempt < policy.maxAttempts; attempt++) {
    const delay = retryDelayMs(policy, attempt);
    retryQueues.set(delay, `${queue}.retry.${delay}`);
  }
  return { queue, deadLetterExchange, deadQueue: `${queue}.dead`, retryQueues };
}

/**
 * Declares the topology, idempotently: asserting what exists with the same arguments is a no-op for the
 * broker. Retry queues are per delay, not per message TTL, so a long delay never holds up a short one
 * behind it (a queue only expires messages at its head).
 */
export async function declareTopology(channel: ConfirmChannel, topology: ConsumerTopology): Promise<void> {
  await channel.assertQueue(topology.queue, { durable: true });
  await channel.assertExchange(topology.deadLetterExchange, 'direct', { durable: true });
  await channel.assertQueue(topology.deadQueue, { durable: true });
  await channel.bindQueue(topology.deadQueue, topology.deadLetterExchange, topology.queue);
  for (const [delay, name] of topology.retryQueues) {
    await channel.assertQueue(name, {
      durable: true,
      arguments: {
        'x-message-ttl': delay,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': topology.queue,
      },
    });
  }
}
