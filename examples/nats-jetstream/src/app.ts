import { keel } from '@keel/express';
import type { Telemetry } from '@keel/telemetry';
import type { JetStreamClient } from '@nats-io/jetstream';
import express, { type Express } from 'express';
import { publishJetStream } from './jetstream.js';

/** Options of {@link ordersApp}. */
export interface OrdersAppOptions {
  /** @default 'orders.created' */
  subject?: string;
  telemetry?: Telemetry;
}

/** The orders service: `POST /orders` publishes to JetStream and answers 202. */
export function ordersApp(js: JetStreamClient, options: OrdersAppOptions = {}): Express {
  const { subject = 'orders.created', telemetry } = options;
  const app = express();
  app.use(keel(telemetry === undefined ? {} : { telemetry }));
  app.use(express.json());
  app.post('/orders', async (req, res) => {
    const order = { orderId: String(req.body?.orderId ?? 'o-1') };
    await publishJetStream(js, subject, order, {
      ...(telemetry === undefined ? {} : { telemetry }),
      msgID: order.orderId,
    });
    res.status(202).json(order);
  });
  return app;
}
