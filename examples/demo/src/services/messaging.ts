/** The routing key of a placed order. */
export const ROUTING_KEY = 'order.created';

/** Short delays between deliveries of a failed message, for a one-minute demo. */
export const MESSAGE_RETRY = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 1_000 } as const;

/**
 * The broker names of one run. Each run has its own, so two demos on one broker never share a queue, and
 * the services delete them when they stop.
 */
export interface BrokerNames {
  /** The topic exchange orders publishes to and both subscribers bind their queues to. */
  readonly exchange: string;
  /** The direct exchange the subscribers' dead letters go to. */
  readonly deadLetterExchange: string;
  /** Each subscriber's own queue: a copy of every order. */
  queue(subscriber: string): string;
}

export function brokerNames(run: string): BrokerNames {
  const prefix = `keel-demo.${run}`;
  return {
    exchange: `${prefix}.orders`,
    deadLetterExchange: `${prefix}.dead-letter`,
    queue: (subscriber) => `${prefix}.${subscriber}`,
  };
}

/** The order number in an order ID (`ord-000050` → 50). */
export function orderNumber(orderId: string): number {
  return Number.parseInt(orderId.slice(4), 10);
}
