import { type Pipeline, pipeline } from '@keel/resilience';
import { checkKeys, invalidOption, isPlainObject, MAX_MS, optionalNumber } from '@keel/resilience/adapter';
import { currentTelemetry, type Telemetry } from '@keel/telemetry';
import { messageHeaderSetter, sendMessage } from '@keel/telemetry/adapter';
import type { Options } from 'amqplib';
import { type AmqpChannel, checkChannel, isRecovering } from './channel-source.js';
import { encodeContent } from './codec.js';
import { confirmPublish } from './confirm-publish.js';
import { checkName } from './internal/check-name.js';

/** Options of {@link publish} and {@link send}: amqplib's publish options, and Keel's. */
export interface PublishOptions extends Options.Publish {
  /** How long the broker has to confirm one attempt, in ms. @default 10000 */
  confirmTimeout?: number;
  /**
   * The pipeline each attempt runs through: transient channel and connection failures are retried
   * there. @default a shared `amqp.publish` pipeline (3 attempts, the standard breaker)
   */
  pipeline?: Pipeline;
  /** The telemetry to report to. @default currentTelemetry() */
  telemetry?: Telemetry;
}

const KEEL_KEYS = new Set(['confirmTimeout', 'pipeline', 'telemetry']);
const AMQP_KEYS = [
  'expiration',
  'userId',
  'CC',
  'BCC',
  'mandatory',
  'persistent',
  'deliveryMode',
  'priority',
  'contentType',
  'contentEncoding',
  'headers',
  'correlationId',
  'replyTo',
  'messageId',
  'timestamp',
  'type',
  'appId',
] as const;

let shared: Pipeline | undefined;

function defaultPipeline(): Pipeline {
  // Created on first use, not at import: a module that only consumes creates nothing.
  shared ??= pipeline('amqp.publish', { timeout: false, totalTimeout: 30_000, retry: { maxAttempts: 3 } });
  return shared;
}

/**
 * Publishes `payload` to `exchange` with `routingKey` (pub/sub: every queue bound to the exchange gets a
 * copy) in a `send {exchange}` span, with trace context, baggage and correlation ID in its headers, and
 * resolves once the broker confirmed it. A Buffer is sent as is, a string as text, anything else as JSON.
 *
 * @example
 * await publish(channel, 'events', 'order.created', { orderId }, { persistent: true });
 */
export function publish(
  channel: AmqpChannel,
  exchange: string,
  routingKey: string,
  payload: unknown,
  options: PublishOptions = {},
): Promise<void> {
  const owner = 'publish';
  checkChannel(owner, channel);
  checkName(owner, 'argument exchange', exchange, true);
  if (typeof routingKey !== 'string' || routingKey.length > 255)
    invalidOption(owner, 'argument routingKey', 'a string of at most 255 characters', routingKey);
  if (!isPlainObject(options as unknown)) invalidOption(owner, 'options', 'an options object', options);
  checkKeys(owner, '', options, [...KEEL_KEYS, ...AMQP_KEYS]);
  const timeoutMs = optionalNumber(owner, 'confirmTimeout', options.confirmTimeout, 10_000, 1, MAX_MS);
  const through = options.pipeline ?? defaultPipeline();
  if (typeof (through as Pipeline | null)?.execute !== 'function')
    invalidOption(owner, 'pipeline', 'a pipeline from @keel/resilience', through);
  const telemetry = options.telemetry ?? currentTelemetry();
  const { content, contentType } = encodeContent(payload);
  const properties: Options.Publish = { contentType };
  for (const key of AMQP_KEYS) {
    if (options[key] !== undefined) (properties as Record<string, unknown>)[key] = options[key];
  }
  const headers: Record<string, unknown> = { ...(options.headers as Record<string, unknown> | undefined) };
  properties.headers = headers;
  const destination = exchange === '' ? routingKey : exchange;
  return sendMessage(
    telemetry,
    {
      destination,
      system: 'rabbitmq',
      carrier: headers,
      setter: messageHeaderSetter,
      attributes: {
        'messaging.rabbitmq.destination.routing_key': routingKey,
        'messaging.message.body.size': content.length,
        ...(typeof properties.messageId === 'string' ? { 'messaging.message.id': properties.messageId } : {}),
        ...(typeof properties.correlationId === 'string'
          ? { 'messaging.message.conversation_id': properties.correlationId }
          : {}),
      },
    },
    () =>
      through.execute(async ({ signal }) => {
        if (isRecovering(channel)) {
          // The wrapper holds the message until a channel is up and resolves on the broker's confirm.
          await channel.publish(exchange, routingKey, content, { ...properties, timeout: timeoutMs });
        } else {
          await confirmPublish(channel, exchange, routingKey, content, properties, timeoutMs, signal);
        }
      }),
  );
}

/**
 * Sends `payload` to one queue (point to point: one consumer of the queue gets it), through the default
 * exchange, in a `send {queue}` span; resolves once the broker confirmed it.
 *
 * @example
 * await send(channel, 'payment-processing', { paymentId }, { persistent: true });
 */
export function send(
  channel: AmqpChannel,
  queue: string,
  payload: unknown,
  options: PublishOptions = {},
): Promise<void> {
  checkName('send', 'argument queue', queue, false);
  return publish(channel, '', queue, payload, options);
}
