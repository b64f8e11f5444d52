// Runs the orders service and its JetStream consumer: `npm start -w examples/nats-jetstream`, then
// `curl -X POST -H 'x-correlation-id: demo-1' localhost:3000/orders`.
import { gracefulShutdown, startTelemetry } from '@keel/telemetry';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ordersApp } from './app.js';
import { consumeJetStream } from './jetstream.js';

const telemetry = startTelemetry({ serviceName: 'orders' });
const nc = await connect({ servers: process.env.NATS_URL ?? '127.0.0.1:4222' });
const jsm = await jetstreamManager(nc);
await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] }).catch(() => undefined);
await jsm.consumers.add('ORDERS', {
  durable_name: 'fulfilment',
  ack_policy: AckPolicy.Explicit,
  max_deliver: 6,
});
const consumer = await jetstream(nc).consumers.get('ORDERS', 'fulfilment');
const consuming = consumeJetStream(
  consumer,
  (message, { logger }) => logger.info({ order: message.json() }, 'fulfilling order'),
  { retry: { maxAttempts: 5 } },
);
const server = ordersApp(jetstream(nc)).listen(Number(process.env.PORT ?? 3000));

// On SIGTERM or SIGINT: the server and the consumer finish what they hold, then NATS drains, then telemetry
// flushes, and the process exits by itself.
gracefulShutdown({
  drain: [server, { name: 'fulfilment consumer', drain: () => consuming.close() }],
  close: [() => nc.drain()],
  telemetry,
});
