import type { Pipeline } from '@keel/resilience';
import { checkKeys, invalidOption, isPlainObject, optionalNumber } from '@keel/resilience/adapter';
import { currentTelemetry, type Telemetry } from '@keel/telemetry';
import {
  ATTEMPT_HEADER,
  checkTelemetry,
  errorMessage,
  errorType,
  type MessageHandlingOptions,
  type MessageScope,
  type MessageVerdict,
  messageAttempt,
  messageHeaderGetter,
  messagePolicy,
  processMessage,
} from '@keel/telemetry/adapter';
import type { ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { type AmqpChannel, checkChannel, isRecovering } from './channel-source.js';
import { decodeContent } from './codec.js';
import { confirmPublish } from './confirm-publish.js';
import { checkName } from './internal/check-name.js';
import { watchBreakers } from './pause-on-breaker.js';
import { type ConsumerTopology, consumerTopology, declareTopology } from './topology.js';

/** Options of {@link consume}. */
export interface ConsumeOptions<T = unknown> extends MessageHandlingOptions {
  /** Unacknowledged messages the broker hands this consumer at once: the bulkhead of the handler. @default 16 */
  prefetch?: number;
  /** The (direct) exchange dead letters go to, routed by the queue's name to `{queue}.dead`. @default 'keel.dead-letter' */
  deadLetterExchange?: string;
  /** Declare the queue, the retry queues and the dead-letter exchange and queue (idempotently). @default true */
  declare?: boolean;
  /**
   * Pipelines the handler calls through: while one's circuit is open, the consumer stops taking messages
   * (and takes them again when the circuit lets a probe through), instead of failing every message. @default none
   */
  pauseWhileOpen?: Pipeline | readonly Pipeline[];
  /** Turns a message into the handler's payload; throw `MalformedMessageError` to dead-letter it. @default by content type: JSON, text or the Buffer */
  decode?: (message: ConsumeMessage) => T;
  /** How long the broker has to confirm a retry or dead letter before the message is handed back, in ms. @default 10000 */
  confirmTimeout?: number;
  /** The telemetry to report to. @default currentTelemetry(), looked up per message */
  telemetry?: Telemetry;
}

/** What a handler gets besides the payload. */
export interface AmqpMessageScope extends MessageScope {
  /** The message as amqplib delivered it. */
  readonly message: ConsumeMessage;
}

/** A message handler: resolve to acknowledge, throw (or reject) to retry or dead-letter. */
export type AmqpHandler<T> = (payload: T, scope: AmqpMessageScope) => unknown;

/** A running consumer. */
export interface Consumer {
  readonly queue: string;
  /** What the consumer declared. */
  readonly topology: ConsumerTopology;
  /** Whether consumption is paused because a circuit in `pauseWhileOpen` is open. */
  readonly paused: boolean;
  /** Messages being handled now. */
  readonly inFlight: number;
  /** Stops taking messages, waits for the handlers in flight and acknowledges (or retries) them, then resolves. */
  close(): Promise<void>;
  /** `Drainable` of `gracefulShutdown`: `close()`, and when `signal` aborts, handlers still running are
   * cancelled through their own signal and their messages handed back to the queue. */
  drain(signal: AbortSignal): Promise<void>;
  /** The name shutdown logs give it: `amqp consumer {queue}`. */
  readonly name: string;
}

const KNOWN = [
  'prefetch',
  'deadLetterExchange',
  'declare',
  'pauseWhileOpen',
  'decode',
  'confirmTimeout',
  'telemetry',
  'timeout',
  'retry',
  'retryOn',
] as const;

// The core's scope reads its logger and signal lazily; delegate rather than copy, so they stay lazy.
class AmqpScope implements AmqpMessageScope {
  readonly #scope: MessageScope;
  readonly message: ConsumeMessage;
  constructor(scope: MessageScope, message: ConsumeMessage) {
    this.#scope = scope;
    this.message = message;
  }
  get logger() {
    return this.#scope.logger;
  }
  get signal() {
    return this.#scope.signal;
  }
  get attempt() {
    return this.#scope.attempt;
  }
  get correlationId() {
    return this.#scope.correlationId;
  }
}

const MAX_ID = 128;
const ignore = (): void => {};

function boundedId(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_ID ? value : undefined;
}

function safeAck(channel: ConfirmChannel, message: ConsumeMessage): boolean {
  try {
    channel.ack(message);
    return true;
  } catch {
    // The channel closed under the message: the broker delivers it again to the next consumer.
    return false;
  }
}

/**
 * Consumes `queue`: each message runs `handler` in the producer's trace with a `process {queue}` span,
 * and is acknowledged only after the handler succeeded. A failed delivery goes to a retry queue whose TTL
 * sends it back after a doubling delay (so it holds up neither the channel nor the queue), its attempt
 * counted in `x-keel-attempt`; after `retry.maxAttempts`, for a failure `retryOn` refuses, or for a
 * malformed body, it goes to the dead-letter exchange with the reason in its headers.
 *
 * @example
 * const consumer = await consume(channel, 'payment-processing', async (payment, { logger, signal }) => {
 *   await payments.execute(({ signal }) => charge(payment, signal));
 * }, { prefetch: 16, timeout: 30_000, retry: { maxAttempts: 5 }, deadLetterExchange: 'payments.dlx' });
 */
export async function consume<T = unknown>(
  channel: AmqpChannel,
  queue: string,
  handler: AmqpHandler<T>,
  options: ConsumeOptions<T> = {},
): Promise<Consumer> {
  const owner = 'consume';
  checkChannel(owner, channel);
  checkName(owner, 'argument queue', queue, false);
  if (typeof handler !== 'function')
    invalidOption(owner, 'argument handler', 'a function (payload, scope)', handler);
  if (!isPlainObject(options as unknown)) invalidOption(owner, 'options', 'an options object', options);
  checkKeys(owner, '', options, KNOWN);
  const { timeout, retry, retryOn } = options;
  const policy = messagePolicy(owner, {
    ...(timeout === undefined ? {} : { timeout }),
    ...(retry === undefined ? {} : { retry }),
    ...(retryOn === undefined ? {} : { retryOn }),
  });
  const prefetch = optionalNumber(owner, 'prefetch', options.prefetch, 16, 1, 65_535);
  const confirmTimeout = optionalNumber(
    owner,
    'confirmTimeout',
    options.confirmTimeout,
    10_000,
    1,
    2_147_483_647,
  );
  const dlx = checkName(owner, 'deadLetterExchange', options.deadLetterExchange ?? 'keel.dead-letter', false);
  if (options.declare !== undefined && typeof options.declare !== 'boolean')
    invalidOption(owner, 'declare', 'a boolean', options.declare);
  const declare = options.declare ?? true;
  const decode = (options.decode ?? decodeContent) as (message: ConsumeMessage) => T;
  if (typeof decode !== 'function') invalidOption(owner, 'decode', 'a function (message)', decode);
  const fixed = checkTelemetry(owner, 'telemetry', options.telemetry);
  const topology = consumerTopology(queue, dlx, policy);

  let closing = false;
  let paused = false;
  let active: ConfirmChannel | undefined;
  let subscription: { channel: ConfirmChannel; tag: string } | undefined;
  let inFlight = 0;
  // Aborted when a drain's grace period ends: the handlers still running are cancelled and handed back.
  const stopping = new AbortController();
  let idle: (() => void)[] = [];
  // Subscribe and cancel run one after another, so a pause never races the consume it undoes.
  let chain: Promise<void> = Promise.resolve();
  const serial = (step: () => Promise<void>): Promise<void> => {
    chain = chain.then(step).catch(ignore);
    return chain;
  };

  async function subscribe(): Promise<void> {
    const ch = active;
    if (ch === undefined || paused || closing || subscription?.channel === ch) return;
    const reply = await ch.consume(queue, (message) => {
      if (message !== null) void deliver(ch, message);
    });
    subscription = { channel: ch, tag: reply.consumerTag };
  }

  async function unsubscribe(): Promise<void> {
    const current = subscription;
    subscription = undefined;
    if (current !== undefined) await current.channel.cancel(current.tag).catch(ignore);
  }

  async function settle(ch: ConfirmChannel, message: ConsumeMessage, verdict: MessageVerdict) {
    if (verdict.action === 'ack') {
      safeAck(ch, message);
      return;
    }
    const headers: Record<string, unknown> = { ...(message.properties.headers as Record<string, unknown>) };
    delete headers['x-death'];
    delete headers['x-first-death-exchange'];
    delete headers['x-first-death-queue'];
    delete headers['x-first-death-reason'];
    headers['x-keel-original-exchange'] ??= message.fields.exchange;
    headers['x-keel-original-routing-key'] ??= message.fields.routingKey;
    let exchange: string;
    let routingKey: string;
    if (verdict.action === 'retry') {
      headers[ATTEMPT_HEADER] = verdict.nextAttempt;
      exchange = '';
      routingKey = topology.retryQueues.get(verdict.delayMs) ?? topology.queue;
    } else {
      headers[ATTEMPT_HEADER] = verdict.attempt;
      headers['x-keel-dead-letter-reason'] = verdict.reason;
      headers['x-keel-attempts'] = verdict.attempt;
      headers['x-keel-error-type'] = errorType(verdict.error);
      headers['x-keel-error'] = errorMessage(verdict.error);
      exchange = topology.deadLetterExchange;
      routingKey = topology.queue;
    }
    const p = message.properties;
    const properties: Options.Publish = {
      headers,
      persistent: p.deliveryMode === 2,
      ...(p.contentType === undefined ? {} : { contentType: p.contentType }),
      ...(p.contentEncoding === undefined ? {} : { contentEncoding: p.contentEncoding }),
      ...(p.messageId === undefined ? {} : { messageId: p.messageId }),
      ...(p.correlationId === undefined ? {} : { correlationId: p.correlationId }),
      ...(p.type === undefined ? {} : { type: p.type }),
      ...(p.appId === undefined ? {} : { appId: p.appId }),
      ...(p.timestamp === undefined ? {} : { timestamp: p.timestamp }),
    };
    try {
      // The copy is confirmed before the original is acknowledged: a crash in between duplicates, never loses.
      await confirmPublish(ch, exchange, routingKey, message.content, properties, confirmTimeout);
    } catch {
      try {
        ch.nack(message, false, true);
      } catch {
        // Closed channel: the broker delivers the message again.
      }
      return;
    }
    safeAck(ch, message);
  }

  async function deliver(ch: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    inFlight++;
    try {
      const headers = message.properties.headers as Record<string, unknown> | undefined;
      const messageId = boundedId(message.properties.messageId);
      const conversationId = boundedId(message.properties.correlationId);
      const verdict = await processMessage(
        fixed ?? currentTelemetry(),
        {
          destination: queue,
          system: 'rabbitmq',
          carrier: headers,
          getter: messageHeaderGetter,
          attempt: messageAttempt(headers),
          messageId,
          signal: stopping.signal,
          attributes: {
            'messaging.rabbitmq.destination.routing_key': message.fields.routingKey,
            'messaging.rabbitmq.message.delivery_tag': message.fields.deliveryTag,
            'messaging.message.body.size': message.content.length,
            ...(messageId === undefined ? {} : { 'messaging.message.id': messageId }),
            ...(conversationId === undefined ? {} : { 'messaging.message.conversation_id': conversationId }),
          },
        },
        policy,
        (scope) => handler(decode(message), new AmqpScope(scope, message)),
      );
      if (stopping.signal.aborted && verdict.action !== 'ack') {
        // Cancelled by shutdown, not failed: back to the queue for the next instance, no attempt spent.
        try {
          ch.nack(message, false, true);
        } catch {
          // Closed channel: the broker delivers it again.
        }
      } else await settle(ch, message, verdict);
    } finally {
      inFlight--;
      if (inFlight === 0) {
        const waiting = idle;
        idle = [];
        for (const wake of waiting) wake();
      }
    }
  }

  let ready: () => void = ignore;
  const firstSetup = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const setup = async (ch: ConfirmChannel): Promise<void> => {
    if (declare) await declareTopology(ch, topology);
    await ch.prefetch(prefetch);
    active = ch;
    // A recovering channel runs this again on each new channel: the old subscription died with the old one.
    if (subscription !== undefined && subscription.channel !== ch) subscription = undefined;
    await serial(subscribe);
    ready();
  };

  const breakers = watchBreakers(options.pauseWhileOpen, owner, {
    pause: () => {
      if (paused || closing) return;
      paused = true;
      void serial(unsubscribe);
    },
    resume: () => {
      if (!paused || closing) return;
      paused = false;
      void serial(subscribe);
    },
  });

  try {
    // A recovering channel resolves addSetup at once while it is not connected: wait for the first setup.
    if (isRecovering(channel)) await Promise.all([channel.addSetup(setup), firstSetup]);
    else await setup(channel);
  } catch (error) {
    breakers.dispose();
    throw error;
  }

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      breakers.dispose();
      await serial(unsubscribe);
      if (isRecovering(channel)) await channel.removeSetup(setup).catch(ignore);
      if (inFlight > 0) await new Promise<void>((resolve) => idle.push(resolve));
    })();
    return closed;
  };
  return {
    queue,
    name: `amqp consumer ${queue}`,
    topology,
    get paused() {
      return paused;
    },
    get inFlight() {
      return inFlight;
    },
    close,
    drain(signal: AbortSignal) {
      const cancel = () => stopping.abort(signal.reason);
      if (signal.aborted) cancel();
      else signal.addEventListener('abort', cancel, { once: true });
      return close().finally(() => signal.removeEventListener('abort', cancel));
    },
  };
}
