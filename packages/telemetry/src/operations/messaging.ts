import {
  type Context,
  context,
  SpanKind,
  type TextMapGetter,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import type { OperationCore } from './core.js';
import { extractInbound } from './inbound.js';
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
    {
      'messaging.system': system,
      'messaging.operation.type': 'process',
      'messaging.destination.name': start.destination,
    },
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
  const op = new Operation(core.tracer, `send ${start.destination}`, SpanKind.PRODUCER, context.active(), {
    'messaging.system': system,
    'messaging.operation.type': 'send',
    'messaging.destination.name': start.destination,
  });
  // The broker is ours: messages carry the full context.
  core.propagator.inject(op.context, start.carrier, start.setter as TextMapSetter);
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
