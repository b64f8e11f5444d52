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

const ignore = (): void => {};

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
  const controller = new AbortController();
  const outer = message.signal;
  const onOuterAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const bindings: Record<string, string> = { messaging_destination_name: message.destination };
  if (message.messageId !== undefined) bindings.messaging_message_id = message.messageId;
  const logger = core.logger.child(bindings);
  const scope: MessageScope = {
    logger,
    signal: controller.signal,
    attempt,
    correlationId: op.correlationId ?? '',
  };
  let timer: NodeJS.Timeout | undefined;
  let error: unknown;
  let failed = false;
  try {
    const work = op.run(() => handler(scope));
    if (typeof (work as PromiseLike<unknown> | undefined)?.then === 'function') {
      const pending = Promise.resolve(work);
      pending.then(undefined, ignore);
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          const timeout = new TimeoutError(policy.timeoutMs, 'attempt');
          controller.abort(timeout);
          reject(timeout);
        }, policy.timeoutMs);
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
        pending.then(() => resolve(), reject);
      });
    }
  } catch (caught) {
    failed = true;
    error = caught ?? new Error('message handler failed without an error');
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    outer?.removeEventListener('abort', onOuterAbort);
  }
  const verdict: MessageVerdict = failed ? judgeFailure(policy, attempt, error) : { action: 'ack', attempt };
  if (verdict.action !== 'ack') {
    op.run(() =>
      logger.warn(
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
