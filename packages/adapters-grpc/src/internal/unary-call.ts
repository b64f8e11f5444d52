import {
  type InterceptingListener,
  type InterceptorOptions,
  Metadata,
  type NextCall,
  type StatusObject,
  status,
} from '@grpc/grpc-js';
import { CancelledError, type ExecuteContext } from '@keel/resilience';
import type { AbortListener } from '@keel/resilience/adapter';
import { grpcStatusName, type RpcClientOperation } from '@keel/telemetry/adapter';
import type { ResolvedClient } from '../client-options.js';
import { metadataSetter } from '../metadata-carrier.js';
import { GrpcStatusError } from '../status.js';
import { deadlineOf } from './deadline.js';
import { finalStatus } from './final-status.js';
import type { InterceptingCallInterface, MessageContext } from './grpc-types.js';

/** Metadata key telling the server how many attempts came before this one (gRPC A6). */
export const PREVIOUS_ATTEMPTS_HEADER = 'grpc-previous-rpc-attempts';

/** What a successful attempt brought back. */
class Reply {
  constructor(
    readonly metadata: Metadata | undefined,
    readonly message: unknown,
    readonly status: StatusObject,
  ) {}
}

/** One physical attempt: the next call in grpc-js's chain, started with this attempt's metadata and deadline. */
class Attempt implements AbortListener {
  metadata: Metadata | undefined = undefined;
  message: unknown = undefined;
  readonly call: InterceptingCallInterface;

  constructor(
    owner: UnaryCall,
    readonly ctx: ExecuteContext,
    readonly resolve: (reply: Reply) => void,
    readonly reject: (error: unknown) => void,
  ) {
    const metadata = owner.metadata.clone();
    owner.op!.inject(metadata, metadataSetter);
    if (ctx.attempt > 1) metadata.set(PREVIOUS_ATTEMPTS_HEADER, String(ctx.attempt - 1));
    const deadline = ctx.deadline ?? owner.op!.deadline;
    this.call = owner.nextCall(
      deadline === undefined ? owner.options : { ...owner.options, deadline: deadlineOf(deadline) },
    );
    owner.current = this.call;
    ctx.listen(this);
    this.call.start(metadata, {
      onReceiveMetadata: (received) => {
        this.metadata = received;
      },
      onReceiveMessage: (received) => {
        this.message = received;
      },
      onReceiveStatus: (received) => this.settle(received),
    });
    this.call.sendMessage(owner.message);
    this.call.halfClose();
    this.call.startRead();
  }

  settle(received: StatusObject): void {
    this.ctx.unlisten(this);
    if (received.code === status.OK) this.resolve(new Reply(this.metadata, this.message, received));
    else this.reject(new GrpcStatusError(received));
  }

  /** The pipeline gave up on this attempt (attempt timeout, deadline, caller gone): stop the call. */
  onAbort(reason: Error): void {
    this.call.cancelWithStatus(status.CANCELLED, reason.message);
  }
}

/**
 * A unary call run through the client's pipeline: the request is held, and each attempt the pipeline makes
 * is a fresh call down grpc-js's chain; the caller's listener hears only the final outcome.
 */
export class UnaryCall implements InterceptingCallInterface {
  metadata = new Metadata();
  message: unknown = undefined;
  listener: Partial<InterceptingListener> | undefined = undefined;
  op: RpcClientOperation | undefined = undefined;
  current: InterceptingCallInterface | undefined = undefined;
  #controller: AbortController | undefined = undefined;
  #finished = false;

  constructor(
    readonly client: ResolvedClient,
    readonly options: InterceptorOptions,
    readonly nextCall: NextCall,
    readonly begin: () => RpcClientOperation,
    readonly fullMethod: string,
  ) {}

  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    this.metadata = metadata;
    this.listener = listener;
  }

  sendMessageWithContext(messageContext: MessageContext, message: unknown): void {
    this.message = message;
    messageContext.callback?.();
  }

  sendMessage(message: unknown): void {
    this.message = message;
  }

  startRead(): void {}

  halfClose(): void {
    if (this.op !== undefined || this.#finished) return;
    const op = this.begin();
    this.op = op;
    const controller = new AbortController();
    this.#controller = controller;
    const idempotent = this.client.idempotent(this.fullMethod);
    const attempt = (ctx: ExecuteContext) => {
      // A synchronous throw here is the pipeline's to turn into this attempt's rejection.
      if (ctx.reason !== undefined) throw ctx.reason;
      return new Promise<Reply>((resolve, reject) => new Attempt(this, ctx, resolve, reject));
    };
    op.run(() => this.client.pipeline.execute(attempt, { signal: controller.signal, idempotent })).then(
      (reply) => this.#succeed(reply),
      (error: unknown) => this.#fail(error),
    );
  }

  cancelWithStatus(code: status, details: string): void {
    if (this.#finished) return;
    if (this.#controller !== undefined) {
      this.#controller.abort(new CancelledError(details, this.client.name));
      return;
    }
    this.#deliver({ code, details, metadata: new Metadata() }, undefined);
  }

  getPeer(): string {
    return this.current?.getPeer() ?? 'unknown';
  }

  getAuthContext() {
    return this.current?.getAuthContext() ?? null;
  }

  #succeed(reply: unknown): void {
    // A fallback answers with a response message of its own rather than an attempt's reply.
    const final =
      reply instanceof Reply
        ? reply
        : new Reply(undefined, reply, { code: status.OK, details: 'OK', metadata: new Metadata() });
    const listener = this.listener;
    if (this.#finished) return;
    this.#finished = true;
    this.op?.end({ statusCode: 'OK' });
    listener?.onReceiveMetadata?.(final.metadata ?? new Metadata());
    listener?.onReceiveMessage?.(final.message);
    listener?.onReceiveStatus?.(final.status);
  }

  #fail(error: unknown): void {
    this.#deliver(finalStatus(error), error);
  }

  #deliver(final: StatusObject, error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    const statusCode = grpcStatusName(final.code);
    this.op?.end(
      error instanceof GrpcStatusError || error === undefined ? { statusCode } : { statusCode, error },
    );
    this.listener?.onReceiveStatus?.(final);
  }
}
