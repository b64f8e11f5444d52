import { setDeadline } from '@keel/resilience';
import { type Context, context, SpanKind, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import type { OperationCore } from './core.js';
import { extractInbound } from './inbound.js';
import { Operation } from './operation.js';

// Status codes that mean the server failed (the conventions' list); the rest are the caller's doing.
const SERVER_FAULTS = new Set([
  'UNKNOWN',
  'DEADLINE_EXCEEDED',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
]);

/** One RPC in flight, server or client side. */
export interface RpcOperation {
  readonly context: Context;
  readonly correlationId: string | undefined;
  run<T>(fn: () => T): T;
  /** `statusCode` is the gRPC status name (`OK`, `UNAVAILABLE`, …). */
  end(end: { statusCode: string; error?: unknown }): void;
}

/** Identifies a method: `package.Service` and `Method`. */
export interface RpcMethod {
  readonly service: string;
  readonly method: string;
}

function finish(core: OperationCore, op: Operation, side: 'server' | 'client', fullMethod: string) {
  return ({ statusCode, error }: { statusCode: string; error?: unknown }) => {
    const failed = side === 'server' ? SERVER_FAULTS.has(statusCode) : statusCode !== 'OK';
    const { seconds, errorType } = op.finish({
      attributes: { 'rpc.response.status_code': statusCode },
      ...(error !== undefined && failed
        ? { error, errorType: statusCode }
        : failed
          ? { errorType: statusCode }
          : {}),
    });
    const histogram = side === 'server' ? core.metrics.rpcServerDuration : core.metrics.rpcClientDuration;
    histogram.record(
      { rpc_system_name: 'grpc', rpc_method: fullMethod, rpc_status_code: statusCode, error_type: errorType },
      seconds,
      op.sampledTraceId,
    );
  };
}

/** Starts the server span of an inbound RPC from its metadata. */
export function startRpcServer<C>(
  core: OperationCore,
  start: RpcMethod & { carrier: C; getter: TextMapGetter<C>; edge?: boolean },
): RpcOperation {
  const inbound = extractInbound(core, start.carrier, start.getter, start.edge === true);
  const fullMethod = `${start.service}/${start.method}`;
  const op = new Operation(
    core.tracer,
    fullMethod,
    SpanKind.SERVER,
    inbound.context,
    { 'rpc.system.name': 'grpc', 'rpc.method': fullMethod },
    inbound.links,
  );
  return {
    context: op.context,
    correlationId: inbound.correlationId,
    run: (fn) => op.run(fn),
    end: finish(core, op, 'server', fullMethod),
  };
}

/** Starts the client span of one RPC attempt and injects context into its metadata. */
export function startRpcClient<C>(
  core: OperationCore,
  start: RpcMethod & {
    carrier: C;
    setter: TextMapSetter<C>;
    host: string;
    attempt?: number;
    deadline?: number | undefined;
  },
): RpcOperation {
  const fullMethod = `${start.service}/${start.method}`;
  const active = context.active();
  const parent = start.deadline === undefined ? active : setDeadline(active, start.deadline);
  const attempt = start.attempt ?? 1;
  const op = new Operation(core.tracer, fullMethod, SpanKind.CLIENT, parent, {
    'rpc.system.name': 'grpc',
    'rpc.method': fullMethod,
    'server.address': start.host,
    ...(attempt > 1 ? { 'keel.resend_count': attempt - 1 } : {}),
  });
  if (core.allowsFullContext(start.host))
    core.propagator.inject(op.context, start.carrier, start.setter as TextMapSetter);
  else core.propagator.injectMinimal(op.context, start.carrier, start.setter as TextMapSetter);
  return {
    context: op.context,
    correlationId: undefined,
    run: (fn) => op.run(fn),
    end: finish(core, op, 'client', fullMethod),
  };
}
