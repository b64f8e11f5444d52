import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import type { Pipeline } from '@keel/resilience';
import { currentTelemetry } from '@keel/telemetry';
import { rpcMethodOf, startRpcClient } from '@keel/telemetry/adapter';
import { context } from '@opentelemetry/api';
import { type KeelClientInterceptorOptions, resolveClientOptions } from './client-options.js';
import { instantOf } from './internal/deadline.js';
import { StreamCall } from './internal/stream-call.js';
import { UnaryCall } from './internal/unary-call.js';

/** A grpc-js client interceptor with the pipeline its calls run through. */
export interface KeelClientInterceptor extends Interceptor {
  /** The client's name, also its pipeline's. */
  readonly clientName: string;
  /** The pipeline every call runs through (for `circuitState`, `onEvent`, `stats`, health). */
  readonly pipeline: Pipeline;
  /** Disposes the interceptor's own pipeline: calls in flight are cancelled, new ones rejected. */
  close(): void;
}

/**
 * A grpc-js client interceptor: each call is a client span named `package.Service/Method` (retries are
 * events on it) carrying trace context, correlation ID and the remaining deadline (the nearer of the
 * call's own and the caller's), recorded in `rpc_client_call_duration_seconds`. Unary calls run through
 * a resilience pipeline named `name` (retrying UNAVAILABLE, and RESOURCE_EXHAUSTED with a pushback hint,
 * for methods marked `idempotent`); streaming calls run their start through it.
 *
 * @example
 * const orders = keelClientInterceptor({ name: 'orders', idempotent: ['shop.Orders/Get'] });
 * const client = new OrdersClient('orders:50051', credentials, { interceptors: [orders] });
 */
export function keelClientInterceptor(options: KeelClientInterceptorOptions): KeelClientInterceptor {
  const client = resolveClientOptions(options);
  const interceptor: Interceptor = function keelClientInterceptor(callOptions, nextCall) {
    const definition = callOptions.method_definition;
    const { service, method } = rpcMethodOf(definition.path);
    // The interceptor runs where the call was made: that is the context the span and deadline come from.
    const parent = context.active();
    const begin = () =>
      context.with(parent, () =>
        startRpcClient(client.telemetry ?? currentTelemetry(), {
          service,
          method,
          host: client.host,
          deadline: instantOf(callOptions.deadline),
        }),
      );
    const call =
      definition.requestStream || definition.responseStream
        ? new StreamCall(client, callOptions, nextCall, begin)
        : new UnaryCall(client, callOptions, nextCall, begin, `${service}/${method}`);
    return new InterceptingCall(call);
  };
  return Object.assign(interceptor, {
    clientName: client.name,
    pipeline: client.pipeline,
    close() {
      if (client.ownsPipeline) client.pipeline.dispose();
    },
  });
}
