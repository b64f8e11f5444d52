// gateway: the public Express edge; POST /orders calls orders over gRPC, GET /catalog is cheap and tightly limited.
import * as grpc from '@grpc/grpc-js';
import { keel, keelErrorHandler, rateLimit } from '@keel/express';
import { keelClientInterceptor } from '@keel/grpc';
import express, { type NextFunction, type Request, type Response } from 'express';
import { OrdersClient, type PlaceOrderReply, type PlaceOrderRequest } from './orders-proto.js';
import { portOf, startService } from './runtime.js';

const runtime = await startService();
const { config, telemetry } = runtime;
if (config.ordersAddress === undefined) throw new Error('gateway needs ordersAddress');

// PlaceOrder is not idempotent, so it is sent once. No breaker here: orders guards payments with its own
// and answers UNAVAILABLE at once while that one is open; a second breaker at the gateway would only echo it.
const ordersPipeline = keelClientInterceptor({
  name: 'orders',
  timeout: 2_000,
  circuitBreaker: false,
  telemetry,
});
const orders = new OrdersClient(config.ordersAddress, grpc.credentials.createInsecure(), {
  interceptors: [ordersPipeline],
  'grpc.enable_retries': 0,
}) as unknown as grpc.Client & {
  PlaceOrder(
    request: PlaceOrderRequest,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, reply: PlaceOrderReply) => void,
  ): grpc.ClientUnaryCall;
};

function placeOrder(request: PlaceOrderRequest): Promise<PlaceOrderReply> {
  return new Promise((resolve, reject) => {
    orders.PlaceOrder(
      request,
      { deadline: Date.now() + 2_500 },
      (error: grpc.ServiceError | null, reply: PlaceOrderReply) => (error ? reject(error) : resolve(reply)),
    );
  });
}

const CATALOG = [
  { sku: 'kettle', priceCents: 1_250 },
  { sku: 'teapot', priceCents: 2_400 },
];

/** The HTTP answer to a gRPC status from orders: the same mapping Keel's outcome table makes. */
const HTTP_STATUS: Partial<Record<grpc.status, number>> = {
  [grpc.status.UNAVAILABLE]: 503,
  [grpc.status.DEADLINE_EXCEEDED]: 504,
  [grpc.status.RESOURCE_EXHAUSTED]: 503,
  [grpc.status.CANCELLED]: 499,
  [grpc.status.INVALID_ARGUMENT]: 400,
};

function isServiceError(error: unknown): error is grpc.ServiceError {
  return (
    error instanceof Error && typeof (error as { code?: unknown }).code === 'number' && 'metadata' in error
  );
}

/** Answers the gRPC status a call to orders ended with; anything else goes on to keelErrorHandler. */
function grpcErrors(error: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (!isServiceError(error) || res.headersSent) {
    next(error);
    return;
  }
  res.status(HTTP_STATUS[error.code] ?? 502).json({
    error: { code: grpc.status[error.code], message: error.details },
  });
}

const app = express();
app.use(keel({ telemetry, edge: true }));
app.use(express.json());
app.post('/orders', rateLimit({ limit: 200 }), async (req, res) => {
  const body = (req.body ?? {}) as Partial<PlaceOrderRequest>;
  const reply = await placeOrder({ sku: String(body.sku ?? 'kettle'), quantity: Number(body.quantity ?? 1) });
  res.status(201).json(reply);
});
// Deliberately tight: the load generator asks a little more often than this admits.
app.get('/catalog', rateLimit({ limit: 5, intervalMs: 1_000 }), (_req, res) => {
  res.json(CATALOG);
});
app.use(grpcErrors);
app.use(keelErrorHandler({ unhandled: 'respond' }));

const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
await runtime.ready({
  port: portOf(server),
  drain: [server],
  close: [() => orders.close(), () => ordersPipeline.close()],
});
