import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** The gRPC method the gateway calls, as `package.Service/Method`. */
export const PLACE_ORDER = 'orders.Orders/PlaceOrder';

export interface PlaceOrderRequest {
  sku: string;
  quantity: number;
}

export interface PlaceOrderReply {
  orderId: string;
  amountCents: number;
}

const definition = loadSync(fileURLToPath(new URL('../../proto/orders.proto', import.meta.url)), {
  defaults: true,
});

/** The generated client constructor; its `service` is the definition the server adds. */
export const OrdersClient = (loadPackageDefinition(definition).orders as Record<string, unknown>)
  .Orders as ServiceClientConstructor;
