import {
  type Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
  type StatusObject,
  status,
} from '@grpc/grpc-js';
import { checkBoolean, checkOptions } from '@keel/resilience/adapter';
import { currentTelemetry, type Telemetry } from '@keel/telemetry';
import {
  checkTelemetry,
  grpcStatusName,
  type RpcOperation,
  rpcMethodOf,
  spentDeadline,
  startRpcServer,
} from '@keel/telemetry/adapter';
import { instantOf } from './internal/deadline.js';
import { metadataGetter } from './metadata-carrier.js';
import { toGrpcStatus, UNKNOWN_DETAILS } from './status.js';

/** Options of {@link keelServerInterceptor}. */
export interface KeelServerInterceptorOptions {
  /** The telemetry to report to. @default currentTelemetry(), looked up per call */
  telemetry?: Telemetry;
  /** Start a new trace (linking the caller's) and drop inbound baggage: for services reached from outside. @default false */
  edge?: boolean;
  /** Answer DEADLINE_EXCEEDED without running the handler when the caller's deadline is spent on arrival. @default true */
  rejectExpiredDeadline?: boolean;
  /** Write one log line per call. @default true */
  accessLog?: boolean;
}

const KNOWN = ['telemetry', 'edge', 'rejectExpiredDeadline', 'accessLog'] as const;

interface Resolved {
  readonly telemetry: Telemetry | undefined;
  readonly edge: boolean;
  readonly rejectExpired: boolean;
  readonly accessLog: boolean;
}

/** The Keel side of one served call: its operation and what it has counted. */
class ServedCall {
  op: RpcOperation | undefined = undefined;
  received = 0;
  sent = 0;

  constructor(
    readonly options: Resolved,
    readonly descriptor: ServerMethodDefinition<unknown, unknown>,
    readonly call: ServerInterceptingCallInterface,
  ) {}

  get streaming(): boolean {
    return this.descriptor.requestStream || this.descriptor.responseStream;
  }

  begin(metadata: Metadata): RpcOperation {
    const { service, method } = rpcMethodOf(this.descriptor.path);
    const options = this.options;
    this.op = startRpcServer(options.telemetry ?? currentTelemetry(), {
      service,
      method,
      carrier: metadata,
      getter: metadataGetter,
      edge: options.edge,
      deadline: instantOf(this.call.getDeadline()),
      accessLog: options.accessLog,
    });
    return this.op;
  }

  end(statusCode: string, error?: unknown): void {
    const op = this.op;
    if (op === undefined) return;
    this.op = undefined;
    const counts = this.streaming ? { messagesReceived: this.received, messagesSent: this.sent } : undefined;
    op.end({ statusCode, ...(error === undefined ? {} : { error }), ...counts });
  }

  onReceiveMetadata(metadata: Metadata, next: (metadata: Metadata) => void): void {
    const op = this.begin(metadata);
    // Nobody waits for work whose caller's deadline was spent before it arrived.
    const spent = this.options.rejectExpired ? spentDeadline(op.context) : undefined;
    if (spent !== undefined) {
      this.end('DEADLINE_EXCEEDED', spent);
      this.call.sendStatus(toGrpcStatus(spent));
      return;
    }
    // Streaming-request handlers start here; unary ones on half-close. Both run inside the call's context.
    op.run(() => next(metadata));
  }

  onReceiveMessage(message: unknown, next: (message: unknown) => void): void {
    this.received++;
    const op = this.op;
    if (op === undefined) next(message);
    else op.run(() => next(message));
  }

  onReceiveHalfClose(next: () => void): void {
    const op = this.op;
    if (op === undefined) next();
    else op.run(next);
  }

  /** grpc-js calls this after every call; still open here means no status went through us. */
  onCancel(): void {
    const op = this.op;
    if (op === undefined) return;
    // grpc-js answers an expired deadline itself, below the interceptors: tell it from a caller who left.
    this.end(spentDeadline(op.context) === undefined ? 'CANCELLED' : 'DEADLINE_EXCEEDED');
  }

  sendStatus(sent: StatusObject | Parameters<ServerInterceptingCallInterface['sendStatus']>[0]): typeof sent {
    this.end(grpcStatusName(sent.code));
    // An error without a status of its own reaches grpc-js as UNKNOWN with its message: keep that inside.
    return sent.code === status.UNKNOWN && sent.details !== UNKNOWN_DETAILS
      ? { ...sent, details: UNKNOWN_DETAILS }
      : sent;
  }
}

/**
 * A grpc-js server interceptor: each call gets a server span named `package.Service/Method` continuing the
 * caller's trace, its correlation ID, baggage and deadline (the call's own `grpc-timeout`) in the context
 * the handler runs in, `rpc_server_call_duration_seconds` and one log line. A call whose deadline is spent
 * on arrival is answered DEADLINE_EXCEEDED without running the handler.
 *
 * @example
 * const server = new grpc.Server({ interceptors: [keelServerInterceptor()] });
 */
export function keelServerInterceptor(options?: KeelServerInterceptorOptions): ServerInterceptor {
  const owner = 'keelServerInterceptor';
  const given = checkOptions(owner, options, KNOWN) as KeelServerInterceptorOptions;
  const resolved: Resolved = {
    telemetry: checkTelemetry(owner, 'telemetry', given.telemetry),
    edge: checkBoolean(owner, 'edge', given.edge, false),
    rejectExpired: checkBoolean(owner, 'rejectExpiredDeadline', given.rejectExpiredDeadline, true),
    accessLog: checkBoolean(owner, 'accessLog', given.accessLog, true),
  };
  return function keelServerInterceptor(descriptor, call) {
    const served = new ServedCall(resolved, descriptor, call);
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata: (metadata, nextMetadata) => served.onReceiveMetadata(metadata, nextMetadata),
          onReceiveMessage: (message, nextMessage) => served.onReceiveMessage(message, nextMessage),
          onReceiveHalfClose: (nextHalfClose) => served.onReceiveHalfClose(nextHalfClose),
          onCancel: () => served.onCancel(),
        });
      },
      sendMessage(message, next) {
        served.sent++;
        next(message);
      },
      sendStatus(sent, next) {
        next(served.sendStatus(sent));
      },
    });
  };
}
