import { CancelledError, TimeoutError } from '@keel/resilience';
import type { ConfirmChannel, Options } from 'amqplib';

/**
 * Publishes on a confirm channel and resolves when the broker confirms the message, rejects when it
 * refuses it, when `timeoutMs` passes first or when `signal` aborts. Nothing is left armed afterwards.
 */
export function confirmPublish(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  content: Buffer,
  options: Options.Publish,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (error?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined || error === null) resolve();
      else reject(error);
    };
    const onAbort = () => settle(new CancelledError('publish cancelled', undefined, signal?.reason));
    const timer = setTimeout(() => settle(new TimeoutError(timeoutMs, 'attempt')), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      channel.publish(exchange, routingKey, content, options, (error) => settle(error ?? undefined));
    } catch (error) {
      settle(error);
    }
  });
}
