import { getDeadline, setDeadline } from '@keel/resilience';
import { type Context, context, SpanKind, type TextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import { OwnFieldsRecord } from '../logging/log-fields.js';
import { unredacted } from '../logging/unredacted.js';
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

/** The gRPC status names, indexed by code: what `rpc.response.status_code` and the metric label carry. */
export const GRPC_STATUS_NAMES: readonly string[] = Object.freeze([
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
]);

/** The status name of a numeric gRPC status code; `UNKNOWN` for a code outside the standard range. */
export function grpcStatusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? 'UNKNOWN';
}

/** How one RPC ended. */
export interface RpcEnd {
  /** The gRPC status name (`OK`, `UNAVAILABLE`, …); see {@link grpcStatusName}. */
  readonly statusCode: string;
  /** The failure, when there is one worth recording beyond the status (a local rejection). */
  readonly error?: unknown;
  /** Messages received on the call (1 for a unary request), recorded on the span of a streaming call. */
  readonly messagesReceived?: number;
  /** Messages sent on the call, recorded on the span of a streaming call. */
  readonly messagesSent?: number;
}

/** One RPC in flight, server or client side. */
export interface RpcOperation {
  /** The context to run the work in: span, correlation ID, baggage and deadline. */
  readonly context: Context;
  readonly correlationId: string | undefined;
  run<T>(fn: () => T): T;
  /** Ends the span, records the duration histogram (and, on the server, writes the access log line); once. */
  end(end: RpcEnd): void;
}

/** The client side of one logical RPC: one span over every attempt; each attempt's metadata is injected. */
export interface RpcClientOperation extends RpcOperation {
  /**
   * The call's deadline as a `performance.now()` instant: the nearer of the caller's own and the one
   * inherited from the context, so a chain of services never works for a caller who has given up.
   */
  readonly deadline: number | undefined;
  /**
   * Writes trace context, baggage and correlation ID (traceparent alone to a host that is not allow-listed)
   * into one attempt's metadata, the logical call's span as the parent.
   */
  inject<C>(carrier: C, setter: TextMapSetter<C>): void;
}

/** Identifies a method: `package.Service` and `Method`. */
export interface RpcMethod {
  readonly service: string;
  readonly method: string;
}

const PATH = /^\/([A-Za-z0-9_.$-]{1,256})\/([A-Za-z0-9_$-]{1,128})$/;
const OTHER: RpcMethod = Object.freeze({ service: '_OTHER', method: '_OTHER' });

/**
 * The service and method of a gRPC path (`/package.Service/Method`); `_OTHER` for both when the path is
 * not one, so a peer sending garbage cannot mint span names or metric series.
 */
export function rpcMethodOf(path: string): RpcMethod {
  if (typeof path !== 'string' || path.length > 400) return OTHER;
  const match = PATH.exec(path);
  return match === null ? OTHER : { service: match[1]!, method: match[2]! };
}

/** What an inbound RPC adapter knows when a call's metadata arrives. */
export interface RpcServerStart<C> extends RpcMethod {
  /** `rpc.system.name` of the span and the metric: the RPC system the adapter speaks. @default 'grpc' */
  readonly system?: string;
  readonly carrier: C;
  readonly getter: TextMapGetter<C>;
  /** Start a new trace (linking the caller's) and drop inbound baggage: services reached from outside. @default false */
  readonly edge?: boolean;
  /**
   * The call's own deadline as a `performance.now()` instant, when the transport parsed one itself (gRPC's
   * `grpc-timeout`); the nearer of it and any deadline in the carrier wins.
   */
  readonly deadline?: number | undefined;
  /** Write one log line when the call ends. @default true */
  readonly accessLog?: boolean;
}

function messageCounts(end: RpcEnd): Record<string, number> | undefined {
  if (end.messagesReceived === undefined && end.messagesSent === undefined) return undefined;
  const counts: Record<string, number> = {};
  if (end.messagesReceived !== undefined) counts['keel.rpc.messages_received'] = end.messagesReceived;
  if (end.messagesSent !== undefined) counts['keel.rpc.messages_sent'] = end.messagesSent;
  return counts;
}

/** Ends `op` as an RPC: status attribute, error type by side, histogram; returns what the log line needs. */
function finish(
  core: OperationCore,
  op: Operation,
  side: 'server' | 'client',
  system: string,
  fullMethod: string,
  end: RpcEnd,
): { seconds: number; errorType: string | undefined; failed: boolean } {
  const { statusCode, error } = end;
  const failed = side === 'server' ? SERVER_FAULTS.has(statusCode) : statusCode !== 'OK';
  const counts = messageCounts(end);
  const attributes =
    counts === undefined
      ? { 'rpc.response.status_code': statusCode }
      : { 'rpc.response.status_code': statusCode, ...counts };
  const { seconds, errorType } = op.finish({
    attributes,
    ...(error !== undefined && failed
      ? { error, errorType: statusCode }
      : failed
        ? { errorType: statusCode }
        : {}),
  });
  const histogram = side === 'server' ? core.metrics.rpcServerDuration : core.metrics.rpcClientDuration;
  histogram.record(
    { rpc_system_name: system, rpc_method: fullMethod, rpc_status_code: statusCode, error_type: errorType },
    seconds,
    op.sampledTraceId,
  );
  return { seconds, errorType, failed };
}

/** The log line of one served call, after the trace and correlation fields. */
class RpcRecord extends OwnFieldsRecord {
  rpc?: { method: string; status_code: string };
  duration_ms?: number;
  error_type?: string | undefined;
}

// A class, so the methods sit on the prototype rather than being closures made per call.
class RpcServer implements RpcOperation {
  readonly context: Context;
  readonly correlationId: string;
  readonly #core: OperationCore;
  readonly #op: Operation;
  readonly #fullMethod: string;
  readonly #system: string;
  readonly #accessLog: boolean;
  #ended = false;

  constructor(core: OperationCore, start: RpcServerStart<unknown>) {
    const inbound = extractInbound(core, start.carrier, start.getter, start.edge === true);
    const fullMethod = `${start.service}/${start.method}`;
    const parent =
      start.deadline === undefined ? inbound.context : setDeadline(inbound.context, start.deadline);
    this.#op = new Operation(
      core.tracer,
      fullMethod,
      SpanKind.SERVER,
      parent,
      { 'rpc.system.name': start.system ?? 'grpc', 'rpc.method': fullMethod },
      inbound.links,
    );
    this.context = this.#op.context;
    this.correlationId = inbound.correlationId;
    this.#core = core;
    this.#fullMethod = fullMethod;
    this.#system = start.system ?? 'grpc';
    this.#accessLog = start.accessLog !== false;
  }

  run<T>(fn: () => T): T {
    return this.#op.run(fn);
  }

  end(end: RpcEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    const { seconds, errorType, failed } = finish(
      this.#core,
      this.#op,
      'server',
      this.#system,
      this.#fullMethod,
      end,
    );
    if (!this.#accessLog) return;
    const record = new RpcRecord(this.#op.span.spanContext(), this.correlationId);
    record.rpc = { method: this.#fullMethod, status_code: end.statusCode };
    record.duration_ms = Math.round(seconds * 1e4) / 10;
    record.error_type = errorType;
    unredacted(this.#core.logger)[failed ? 'error' : 'info'](record, 'rpc completed');
  }
}

/**
 * Starts the server span of an inbound RPC from its metadata: `{package.Service}/{Method}`, the caller's
 * context (or a link to it at an edge), a correlation ID, and the nearer of the carried and the transport's
 * deadline. `end` records `rpc_server_call_duration_seconds` and writes one log line.
 */
export function startRpcServer<C>(core: OperationCore, start: RpcServerStart<C>): RpcOperation {
  return new RpcServer(core, start as RpcServerStart<unknown>);
}

/** What an outbound RPC adapter knows when a logical call starts. */
export interface RpcClientStart extends RpcMethod {
  /** `rpc.system.name` of the span and the metric: the RPC system the adapter speaks. @default 'grpc' */
  readonly system?: string;
  /** The host called, for `server.address` and the egress allow-list. */
  readonly host: string;
  /** The caller's own deadline for the call as a `performance.now()` instant, if it set one. */
  readonly deadline?: number | undefined;
}

class RpcClient implements RpcClientOperation {
  readonly context: Context;
  readonly correlationId = undefined;
  readonly deadline: number | undefined;
  readonly #core: OperationCore;
  readonly #op: Operation;
  readonly #fullMethod: string;
  readonly #system: string;
  readonly #full: boolean;
  #ended = false;

  constructor(core: OperationCore, start: RpcClientStart) {
    const fullMethod = `${start.service}/${start.method}`;
    const active = context.active();
    const parent = start.deadline === undefined ? active : setDeadline(active, start.deadline);
    this.#op = new Operation(core.tracer, fullMethod, SpanKind.CLIENT, parent, {
      'rpc.system.name': start.system ?? 'grpc',
      'rpc.method': fullMethod,
      'server.address': start.host,
    });
    this.context = this.#op.context;
    this.deadline = getDeadline(parent);
    this.#core = core;
    this.#fullMethod = fullMethod;
    this.#system = start.system ?? 'grpc';
    this.#full = core.allowsFullContext(start.host);
  }

  run<T>(fn: () => T): T {
    return this.#op.run(fn);
  }

  inject<C>(carrier: C, setter: TextMapSetter<C>): void {
    const propagator = this.#core.propagator;
    if (this.#full) propagator.inject(this.context, carrier, setter as TextMapSetter);
    else propagator.injectMinimal(this.context, carrier, setter as TextMapSetter);
  }

  end(end: RpcEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    finish(this.#core, this.#op, 'client', this.#system, this.#fullMethod, end);
  }
}

/**
 * Starts the client span of one logical RPC (every attempt of it); `inject` writes each attempt's metadata
 * and `end` records `rpc_client_call_duration_seconds`. Retries show as events on this span.
 */
export function startRpcClient(core: OperationCore, start: RpcClientStart): RpcClientOperation {
  return new RpcClient(core, start);
}
