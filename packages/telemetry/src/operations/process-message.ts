import { TimeoutError } from '@keel/resilience';
import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { OperationCore } from './core.js';
import { errorMessage, errorType } from './error-type.js';
import { isMalformedMessageError, type MessagePolicy, retryDelayMs } from './message-policy.js';
import { type MessagingDestination, startConsumer, startProducer } from './messaging.js';

/** What a message handler is given besides the message. */
export interface MessageScope {
  /** A child of the telemetry logger carrying the destination and message ID; trace and correlation IDs come from the context. */
  readonly logger: Logger;
  /** Aborts when the handler's timeout passes (or the consumer gives up waiting on close). */
  readonly signal: AbortSignal;
  /** This delivery of the message, from 1. */
  readonly attempt: number;
  /** The correlation ID the message carried, or a fresh one. */
  readonly correlationId: string;
}

/** Why a message went to the dead-letter destination. */
export type DeadLetterReason = 'malformed' | 'rejected' | 'max-attempts';

/** What the adapter does with a processed message: the one outcome table for every broker. */
export type MessageVerdict =
  /** The handler succeeded: acknowledge. */
  | { readonly action: 'ack'; readonly attempt: number }
  /** A failure that may pass: send the message back for delivery `nextAttempt` after `delayMs`, then acknowledge this one. */
  | {
      readonly action: 'retry';
      readonly attempt: number;
      readonly nextAttempt: number;
      readonly delayMs: number;
      readonly error: unknown;
    }
  /** A failure that will not pass, or the last attempt failed: dead-letter with `reason`. */
  | {
      readonly action: 'dead-letter';
      readonly attempt: number;
      readonly reason: DeadLetterReason;
      readonly error: unknown;
    };

/** One received message, as the adapter hands it over. */
export interface ReceivedMessage<C> extends MessagingDestination {
  readonly carrier: C;
  readonly getter: TextMapGetter<C>;
  /** This delivery, from 1 (the adapter reads it from its attempt header). @default 1 */
  readonly attempt?: number;
  /** The message ID, for the handler's logger (bounded by the caller). */
  readonly messageId?: string | undefined;
  /** Start a new trace, linking the producer's, and drop its baggage. @default false */
  readonly edge?: boolean;
  /** Aborts the handler from outside (a consumer that stops waiting). */
  readonly signal?: AbortSignal;
}

/**
 * The scope a handler gets. The logger and the signal are made when the handler first reads them: a
 * handler that logs nothing and never passes its signal on costs neither a child logger nor an
 * AbortController per message.
 */
class Scope implements MessageScope {
  readonly attempt: number;
  readonly correlationId: string;
  readonly #parent: Logger;
  readonly #destination: string;
  readonly #messageId: string | undefined;
  #logger: Logger | undefined;
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;

  constructor(parent: Logger, message: ReceivedMessage<unknown>, attempt: number, correlationId: string) {
    this.#parent = parent;
    this.#destination = message.destination;
    this.#messageId = message.messageId;
    this.attempt = attempt;
    this.correlationId = correlationId;
  }

  get logger(): Logger {
    if (this.#logger === undefined) {
      const bindings: Record<string, string> = { messaging_destination_name: this.#destination };
      if (this.#messageId !== undefined) bindings.messaging_message_id = this.#messageId;
      this.#logger = this.#parent.child(bindings);
    }
    return this.#logger;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }
}

/** The verdict for a delivery that failed with `error`, under `policy`. */
export function judgeFailure(policy: MessagePolicy, attempt: number, error: unknown): MessageVerdict {
  if (isMalformedMessageError(error)) return { action: 'dead-letter', attempt, reason: 'malformed', error };
  let retryable: boolean;
  try {
    retryable = policy.retryOn(error);
  } catch {
    retryable = true;
  }
  if (!retryable) return { action: 'dead-letter', attempt, reason: 'rejected', error };
  if (attempt >= policy.maxAttempts) return { action: 'dead-letter', attempt, reason: 'max-attempts', error };
  return {
    action: 'retry',
    attempt,
    nextAttempt: attempt + 1,
    delayMs: retryDelayMs(policy, attempt),
    error,
  };
}

/**
 * Processes one received message, for any broker: extracts its context (the `process {destination}` span,
 * child of the producer's and linked to it, with the consumed counter and the process-duration histogram),
 * runs `handler` in that context with a logger and a signal that aborts at the policy's timeout, and
 * returns what to do with the message. Never rejects: a failing handler is a verdict.
 */
export async function processMessage<C>(
  core: OperationCore,
  message: ReceivedMessage<C>,
  policy: MessagePolicy,
  handler: (scope: MessageScope) => unknown,
): Promise<MessageVerdict> {
  const attempt = message.attempt ?? 1;
  const op = startConsumer(core, message);
  const scope = new Scope(core.logger, message, attempt, op.correlationId ?? '');
  const outer = message.signal;
  let timer: NodeJS.Timeout | undefined;
  let onOuterAbort: (() => void) | undefined;
  let error: unknown;
  let failed = false;
  try {
    const work = op.run(() => handler(scope));
    if (typeof (work as PromiseLike<unknown> | undefined)?.then === 'function') {
      await new Promise<void>((resolve, reject) => {
        const stop = (reason: unknown) => {
          scope.abort(reason);
          reject(reason);
        };
        timer = setTimeout(stop, policy.timeoutMs, new TimeoutError(policy.timeoutMs, 'attempt'));
        if (outer !== undefined) {
          onOuterAbort = () => stop(outer.reason);
          if (outer.aborted) onOuterAbort();
          else outer.addEventListener('abort', onOuterAbort, { once: true });
        }
        (work as PromiseLike<unknown>).then(() => resolve(), reject);
      });
    }
  } catch (caught) {
    failed = true;
    error = caught ?? new Error('message handler failed without an error');
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    if (onOuterAbort !== undefined) outer?.removeEventListener('abort', onOuterAbort);
  }
  const verdict: MessageVerdict = failed ? judgeFailure(policy, attempt, error) : { action: 'ack', attempt };
  if (verdict.action !== 'ack') {
    op.run(() =>
      scope.logger.warn(
        {
          messaging_attempt: attempt,
          error_type: errorType(error),
          ...(verdict.action === 'dead-letter'
            ? { dead_letter_reason: verdict.reason }
            : { retry_delay_ms: verdict.delayMs }),
        },
        `message ${verdict.action === 'retry' ? 'will be retried' : 'dead-lettered'}: ${errorMessage(error)}`,
      ),
    );
  }
  op.end(failed ? { error } : {});
  return verdict;
}

/** One message to send, as the adapter describes it. */
export interface SentMessage<C> extends MessagingDestination {
  /** The header table context is injected into, before `send` runs. */
  readonly carrier: C;
  readonly setter: TextMapSetter<C>;
}

/**
 * Sends one message, for any broker: the `send {destination}` producer span, context injected into the
 * carrier, then `send` (which publishes the carrier and waits for the broker's confirmation, retries
 * included) inside the span's context; the sent counter and the operation-duration histogram.
 */
export async function sendMessage<C, T>(
  core: OperationCore,
  message: SentMessage<C>,
  send: () => Promise<T>,
): Promise<T> {
  const op = startProducer(core, message);
  try {
    const result = await op.run(send);
    op.end();
    return result;
  } catch (error) {
    op.end({ error });
    throw error;
  }
}
