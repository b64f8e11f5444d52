/** The topic exchange orders publishes to and both subscribers bind their queues to. */
export const EXCHANGE = 'demo.orders';
/** The routing key of a placed order. */
export const ROUTING_KEY = 'order.created';
/** The direct exchange the subscribers' dead letters go to. */
export const DEAD_LETTER_EXCHANGE = 'demo.dead-letter';

/** Each subscriber's own queue: a copy of every order. */
export function queueOf(subscriber: string): string {
  return `demo.${subscriber}.order-created`;
}

/** Short delays between deliveries of a failed message, for a one-minute demo. */
export const MESSAGE_RETRY = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 1_000 } as const;

/** The order number in an order ID (`ord-000050` → 50). */
export function orderNumber(orderId: string): number {
  return Number.parseInt(orderId.slice(4), 10);
}
