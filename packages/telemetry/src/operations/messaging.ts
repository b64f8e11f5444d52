import {
  type Attributes,
  type AttributeValue,
  type Context,
  context,
  SpanKind,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import type { OperationCore } from './core.js';
import { extractInbound } from './inbound.js';
import { carriedByMessages } from './message-headers.js';
import { Operation } from './operation.js';

/** One message being processed or sent. */
export interface MessagingOperation {
  readonly context: Context;
  readonly correlationId: string | undefined;
  run<T>(fn: () => T): T;
  end(end?: { error?: unknown }): void;
}

/** What a messaging adapter knows about the destination. */
export interface MessagingDestination {
  /** Exchange or queue name — low-cardinality; never a per-message temporary name. */
  readonly destination: string;
  /** @default 'rabbitmq' */
  readonly system?: string;
  /**
   * Per-message span attributes (`messaging.message.id`, a routing key, a delivery tag). Values are
   * bounded: strings longer than 256 characters are left out, since they come from whoever sent the message.
   */
  readonly attributes?: Attributes;
}

const ATTRIBUTE_MAX_LENGTH = 256;

function spanAttributes(system: string, type: string, start: MessagingDestination): Attributes {
  const attributes: Attributes = {
    'messaging.system': system,
    'messaging.operation.type': type,
    'messaging.destination.name': start.destination,
  };
  const extra = start.attributes;
  if (extra === undefined) return attributes;
  for (const key of Object.keys(extra)) {
    const value: AttributeValue | undefined = extra[key];
    if (value === undefined || (typeof value === 'string' && value.length > ATTRIBUTE_MAX_LENGTH)) continue;
    attributes[key] = value;
  }
  return attributes;
}

/**
 * Starts the `process {destination}` span of one received message: a child of the producer's context and
 * linked to it (as the conventions advise), with the correlation ID and deadline the message carried.
 */
export function startConsumer<C>(
  core: OperationCore,
  start: MessagingDestination & { carrier: C; getter: TextMapGetter<C>; edge?: boolean },
): MessagingOperation {
  const system = start.system ?? 'rabbitmq';
  const inbound = extractInbound(core, start.carrier, start.getter, start.edge === true);
  const producer = trace.getSpanContext(inbound.context);
  const links = inbound.links ?? (producer === undefined ? undefined : [{ context: producer }]);
  const labels = { messaging_system: system, messaging_destination_name: start.destination };
  const op = new Operation(
    core.tracer,
    `process ${start.destination}`,
    SpanKind.CONSUMER,
    inbound.context,
    spanAttributes(system, 'process', start),
    links,
  );
  core.metrics.messagingConsumed.increment(
    { ...labels, messaging_operation_type: 'process' },
    op.sampledTraceId,
  );
  return {
    context: op.context,
    correlationId: inbound.correlationId,
    run: (fn) => op.run(fn),
    end(end = {}) {
      const { seconds, errorType } = op.finish(end.error === undefined ? {} : { error: end.error });
      core.metrics.messagingProcessDuration.record(
        { ...labels, messaging_operation_type: 'process', error_type: errorType },
        seconds,
        op.sampledTraceId,
      );
    },
  };
}

/** Starts the `send {destination}` span of one published message and injects context into its headers. */
export function startProducer<C>(
  core: OperationCore,
  start: MessagingDestination & { carrier: C; setter: TextMapSetter<C> },
): MessagingOperation {
  const system = start.system ?? 'rabbitmq';
  const labels = { messaging_system: system, messaging_destination_name: start.destination };
  const op = new Operation(
    core.tracer,
    `send ${start.destination}`,
    SpanKind.PRODUCER,
    context.active(),
    spanAttributes(system, 'send', start),
  );
  // The broker is ours: messages carry the full context, but never a deadline (see messageHeaderGetter).
  const setter = start.setter as TextMapSetter;
  core.propagator.inject(op.context, start.carrier, {
    set(carrier, key, value) {
      if (carriedByMessages(key)) setter.set(carrier, key, value);
    },
  });
  return {
    context: op.context,
    correlationId: undefined,
    run: (fn) => op.run(fn),
    end(end = {}) {
      const { seconds, errorType } = op.finish(end.error === undefined ? {} : { error: end.error });
      core.metrics.messagingOperationDuration.record(
        { ...labels, messaging_operation_type: 'send', error_type: errorType },
        seconds,
        op.sampledTraceId,
      );
      if (errorType === undefined)
        core.metrics.messagingSent.increment(
          { ...labels, messaging_operation_type: 'send' },
          op.sampledTraceId,
        );
    },
  };
}
