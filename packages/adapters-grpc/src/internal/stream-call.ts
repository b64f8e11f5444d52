import {
  type InterceptingListener,
  type InterceptorOptions,
  type Metadata,
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

/**
 * A streaming call (client, server or bidi): one call down grpc-js's chain, its start run through the
 * pipeline once (never retried), traced and counted until its status arrives. The start is admission by
 * the breaker, bulkhead and rate limit and, for server-streaming and bidi calls, the server's metadata
 * within the attempt timeout. A client-streaming server answers only at the end, so that call starts once
 * admitted (its deadline still bounds it).
 */
export class StreamCall implements InterceptingCallInterface, AbortListener {
  #listener: Partial<InterceptingListener> | undefined = undefined;
  #op: RpcClientOperation | undefined = undefined;
  #call: InterceptingCallInterface | undefined = undefined;
  #pending: ((call: InterceptingCallInterface) => void)[] = [];
  #controller: AbortController | undefined = undefined;
  #ctx: ExecuteContext | undefined = undefined;
  #aborted: Error | undefined = undefined;
  #settleStart: ((error?: unknown) => void) | undefined = undefined;
  #finished = false;
  #sent = 0;
  #received = 0;

  constructor(
    readonly client: ResolvedClient,
    readonly options: InterceptorOptions,
    readonly nextCall: NextCall,
    readonly begin: () => RpcClientOperation,
  ) {}

  start(metadata: Metadata, listener?: Partial<InterceptingListener>): void {
    this.#listener = listener;
    const op = this.begin();
    this.#op = op;
    const controller = new AbortController();
    this.#controller = controller;
    const open = (ctx: ExecuteContext) => {
      if (ctx.reason !== undefined) throw ctx.reason;
      return new Promise<void>((resolve, reject) => {
        this.#settleStart = (error) => {
          this.#settleStart = undefined;
          ctx.unlisten(this);
          if (error === undefined) resolve();
          else reject(error);
        };
        this.#ctx = ctx;
        ctx.listen(this);
        this.#open(metadata, op);
      });
    };
    op.run(() => this.client.pipeline.execute(open, { signal: controller.signal, idempotent: false })).then(
      undefined,
      (error: unknown) => {
        // Refused before a call existed (open circuit, full bulkhead): nothing else will end it.
        if (this.#call === undefined) this.#deliver(finalStatus(error), error);
      },
    );
  }

  #open(metadata: Metadata, op: RpcClientOperation): void {
    const outgoing = metadata.clone();
    op.inject(outgoing, metadataSetter);
    // The whole stream lives until the call's deadline; the pipeline's attempt timeout bounds only its start.
    const deadline = op.deadline;
    const call = this.nextCall(
      deadline === undefined ? this.options : { ...this.options, deadline: deadlineOf(deadline) },
    );
    this.#call = call;
    call.start(outgoing, {
      onReceiveMetadata: (received) => {
        this.#settleStart?.();
        this.#listener?.onReceiveMetadata?.(received);
      },
      onReceiveMessage: (received) => {
        this.#received++;
        this.#listener?.onReceiveMessage?.(received);
      },
      onReceiveStatus: (received) => {
        this.#settleStart?.(received.code === status.OK ? undefined : new GrpcStatusError(received));
        const aborted = this.#aborted;
        if (aborted !== undefined) this.#deliver(finalStatus(aborted), aborted);
        else this.#deliver(received, undefined);
      },
    });
    // grpc-js gives no earlier sign of a client stream being under way than the answer at its end.
    if (this.options.method_definition.responseStream === false) this.#settleStart?.();
    const pending = this.#pending;
    this.#pending = [];
    for (const step of pending) step(call);
  }

  /** The pipeline gave up on the start (attempt timeout, deadline, caller gone): stop the call. */
  onAbort(reason: Error): void {
    this.#aborted = reason;
    this.#call?.cancelWithStatus(status.CANCELLED, reason.message);
  }

  #whenOpen(step: (call: InterceptingCallInterface) => void): void {
    if (this.#call !== undefined) step(this.#call);
    else this.#pending.push(step);
  }

  sendMessageWithContext(messageContext: MessageContext, message: unknown): void {
    this.#sent++;
    this.#whenOpen((call) => call.sendMessageWithContext(messageContext, message));
  }

  sendMessage(message: unknown): void {
    this.sendMessageWithContext({}, message);
  }

  startRead(): void {
    this.#whenOpen((call) => call.startRead());
  }

  halfClose(): void {
    this.#whenOpen((call) => call.halfClose());
  }

  cancelWithStatus(code: status, details: string): void {
    if (this.#call !== undefined) this.#call.cancelWithStatus(code, details);
    else this.#controller?.abort(new CancelledError(details, this.client.name));
  }

  getPeer(): string {
    return this.#call?.getPeer() ?? 'unknown';
  }

  getAuthContext() {
    return this.#call?.getAuthContext() ?? null;
  }

  #deliver(final: StatusObject, error: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#ctx !== undefined) this.#ctx.unlisten(this);
    const statusCode = grpcStatusName(final.code);
    const counts = { messagesSent: this.#sent, messagesReceived: this.#received };
    this.#op?.end(
      error === undefined || error instanceof GrpcStatusError
        ? { statusCode, ...counts }
        : { statusCode, error, ...counts },
    );
    this.#listener?.onReceiveStatus?.(final);
  }
}
