// orders: a gRPC server whose PlaceOrder charges payments over HTTP and publishes order.created.
import * as grpc from '@grpc/grpc-js';
import { publish } from '@keel/amqp';
import { addKeelHealth, drainableGrpcServer, keelServerInterceptor, keelService } from '@keel/grpc';
import { httpClient } from '@keel/http';
import { createReadiness } from '@keel/telemetry';
import amqp from 'amqplib';
import { brokerNames, ROUTING_KEY } from './messaging.js';
import { OrdersClient, type PlaceOrderReply, type PlaceOrderRequest } from './orders-proto.js';
import { startService } from './runtime.js';

const runtime = await startService();
const { config, telemetry } = runtime;
if (config.paymentsUrl === undefined) throw new Error('orders needs paymentsUrl');

// The resilience README's recommended configuration (3 attempts; retry budget and ratio breaker at their
// defaults) with two changes for a one-minute demo: the breaker's window is 5 s instead of 30 s, so an
// outage a few seconds long opens it; and a bulkhead bounds the calls in flight. The attempt timeout is
// what payments should take, shorter than its slow tail in the degraded phase.
const payments = httpClient({
  name: 'payments',
  baseUrl: config.paymentsUrl,
  timeout: 250,
  retry: { maxAttempts: 3 },
  circuitBreaker: { samplingDurationMs: 5_000 },
  bulkhead: { maxConcurrent: 16, maxQueue: 32 },
  throwOnError: true,
  telemetry,
});

const { exchange } = brokerNames(config.run);
const connection = config.amqpUrl === undefined ? undefined : await amqp.connect(config.amqpUrl);
const channel = await connection?.createConfirmChannel();
await channel?.assertExchange(exchange, 'topic', { durable: true });

let sequence = 0;

const server = new grpc.Server({ interceptors: [keelServerInterceptor({ telemetry })] });
server.addService(
  OrdersClient.service,
  keelService(OrdersClient.service, {
    async PlaceOrder(
      call: grpc.ServerUnaryCall<PlaceOrderRequest, PlaceOrderReply>,
    ): Promise<PlaceOrderReply> {
      sequence += 1;
      const orderId = `ord-${String(sequence).padStart(6, '0')}`;
      const amountCents = 1_250 * Math.max(1, call.request.quantity);
      // The idempotency key makes the POST safe to retry.
      const charge = await payments.post('/charges', {
        json: { orderId, amountCents },
        idempotencyKey: orderId,
      });
      await charge.dump();
      if (channel !== undefined) {
        const order = { orderId, sku: call.request.sku, quantity: call.request.quantity, amountCents };
        await publish(channel, exchange, ROUTING_KEY, order, {
          persistent: true,
          messageId: orderId,
          telemetry,
        });
      }
      return { orderId, amountCents };
    },
  }),
);
const readiness = createReadiness({ pipelines: [payments.pipeline] });
addKeelHealth(server, { readiness });
const port = await new Promise<number>((resolve, reject) =>
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
    error ? reject(error) : resolve(bound),
  ),
);
await runtime.ready({
  port,
  readiness,
  drain: [drainableGrpcServer(server)],
  close: [
    payments,
    async () => {
      // This run's exchange goes with it (the subscribers may have deleted it already).
      await channel?.deleteExchange(exchange).catch(() => undefined);
      await connection?.close().catch(() => undefined);
    },
  ],
});
