import type { ServiceConfig, ServiceName, SpanRecord } from '../protocol.js';
import { type Child, forkService } from './children.js';
import { SUBSCRIBERS } from './readings.js';

/** `/metrics` port offsets under `--metrics-port-base`, the order `dashboards/prometheus.yml` scrapes. */
const PORT_OFFSET: Record<ServiceName, number> = {
  gateway: 0,
  orders: 1,
  payments: 2,
  inventory: 3,
  notifications: 4,
};

export interface SystemOptions {
  /** This run's ID, naming its broker exchanges and queues. */
  readonly run: string;
  /** The broker, or undefined to run gateway, orders and payments alone. */
  readonly amqpUrl: string | undefined;
  readonly metricsPortBase: number | undefined;
  readonly metricsHost: string;
  readonly onSpans: (spans: readonly SpanRecord[]) => void;
  readonly onExit: (child: Child, code: number | string) => void;
  /** Receives each service as soon as it is up (to stop it if a later one fails). */
  readonly started: Child[];
}

/**
 * Starts the services from the far end of the chain: payments and the subscribers (whose queues must be bound
 * before anything is published), then orders with payments' URL, then the gateway with orders' address.
 * Resolves with every service by name; rejects when one fails to start.
 */
export async function startSystem(options: SystemOptions): Promise<Map<ServiceName, Child>> {
  const { run, amqpUrl } = options;
  const start = async (
    config: Omit<ServiceConfig, 'run' | 'metricsPort' | 'metricsHost'>,
  ): Promise<Child> => {
    const metricsPort =
      options.metricsPortBase === undefined ? 0 : options.metricsPortBase + PORT_OFFSET[config.service];
    const child = await forkService(
      { ...config, run, metricsPort, metricsHost: options.metricsHost },
      options,
    );
    options.started.push(child);
    return child;
  };
  // All settle before a failure is reported, so every service that did start is stopped (and removes its
  // queues) rather than killed.
  const first = await Promise.allSettled([
    start({ service: 'payments' }),
    ...(amqpUrl === undefined ? [] : SUBSCRIBERS.map((service) => start({ service, amqpUrl }))),
  ]);
  const failed = first.find((result) => result.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const payments = (first[0] as PromiseFulfilledResult<Child>).value;
  const orders = await start({
    service: 'orders',
    amqpUrl,
    paymentsUrl: `http://127.0.0.1:${payments.port}`,
  });
  await start({ service: 'gateway', ordersAddress: `127.0.0.1:${orders.port}` });
  return new Map(options.started.map((child) => [child.name, child]));
}
