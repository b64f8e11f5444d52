import { currentTelemetry, type Telemetry } from '@keel/telemetry';
import {
  type MessageHandlingOptions,
  type MessageScope,
  type MessageVerdict,
  messagePolicy,
  processMessage,
  sendMessage,
} from '@keel/telemetry/adapter';
import type { Consumer, JetStreamClient, JsMsg, PubAck } from '@nats-io/jetstream';
import { headers } from '@nats-io/transport-node';
import { natsHeaderGetter, natsHeaderSetter } from './carrier.js';

/** Options of {@link consumeJetStream}: the core's handling options, and the batch size. */
export interface JetStreamConsumeOptions extends MessageHandlingOptions {
  /** Messages pulled at once: the handler's bulkhead. @default 16 */
  maxMessages?: number;
  telemetry?: Telemetry;
}

/** A handler: resolve to ack, throw to nak with a delay or term. */
export type JetStreamHandler = (message: JsMsg, scope: MessageScope) => unknown;

const MAX_ID = 128;

/** The broker calls for each verdict of the core's outcome table: ack, nak with the delay, term. */
function settle(message: JsMsg, verdict: MessageVerdict): void {
  if (verdict.action === 'ack') message.ack();
  else if (verdict.action === 'retry') message.nak(verdict.delayMs);
  // term(reason) needs nats-server 2.10.4 or later; the reason is in the core's warn line either way.
  else message.term();
}

/**
 * Consumes a JetStream consumer on Keel's generic messaging wrapper: each message runs `handler` in the
 * producer's trace with a `process {stream}` span. The attempt is JetStream's own delivery count, so a
 * sender cannot forge it; give the consumer a `max_deliver` above `retry.maxAttempts`, so Keel's policy
 * decides and terms the last failure.
 */
export function consumeJetStream(
  consumer: Consumer,
  handler: JetStreamHandler,
  options: JetStreamConsumeOptions = {},
): { closed: Promise<void>; close(): Promise<void> } {
  const { maxMessages = 16, telemetry, ...handling } = options;
  const policy = messagePolicy('consumeJetStream', handling);
  let stop: (() => Promise<void>) | undefined;
  const inFlight = new Set<Promise<void>>();
  const closed = (async () => {
    const messages = await consumer.consume({ max_messages: maxMessages });
    stop = async () => {
      await messages.close();
    };
    for await (const message of messages) {
      const work = (async () => {
        const msgId = message.headers?.get('Nats-Msg-Id');
        const verdict = await processMessage(
          telemetry ?? currentTelemetry(),
          {
            destination: message.info.stream,
            system: 'nats',
            carrier: message.headers,
            getter: natsHeaderGetter,
            attempt: message.info.deliveryCount,
            messageId: msgId !== undefined && msgId !== '' && msgId.length <= MAX_ID ? msgId : undefined,
            attributes: {
              'messaging.destination.subscription.name': message.info.consumer,
              'messaging.message.body.size': message.data.length,
            },
          },
          policy,
          (scope) => handler(message, scope),
        );
        settle(message, verdict);
      })();
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
      // The batch size bounds the handlers running at once, not just the messages buffered.
      if (inFlight.size >= maxMessages) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  })();
  return {
    closed,
    async close() {
      await stop?.();
      await closed;
    },
  };
}

/** Publishes `payload` as JSON to `subject` in a `send {subject}` span with context in its headers. */
export function publishJetStream(
  js: JetStreamClient,
  subject: string,
  payload: unknown,
  options: { telemetry?: Telemetry; msgID?: string } = {},
): Promise<PubAck> {
  const carrier = headers();
  return sendMessage(
    options.telemetry ?? currentTelemetry(),
    { destination: subject, system: 'nats', carrier, setter: natsHeaderSetter },
    () =>
      js.publish(subject, JSON.stringify(payload), {
        headers: carrier,
        ...(options.msgID === undefined ? {} : { msgID: options.msgID }),
      }),
  );
}
