import { remainingMs, TimeoutError } from '@keel/resilience';
import { type Context, context, type Link, type TextMapGetter } from '@opentelemetry/api';
import { getCorrelationId, setCorrelationId } from '../propagation/correlation.js';
import type { OperationCore } from './core.js';

/** The context an inbound request or message brings, after validation and the edge policy. */
export interface Inbound {
  readonly context: Context;
  /** The caller's trace, linked rather than continued at an edge. */
  readonly links: Link[] | undefined;
  readonly correlationId: string;
}

/**
 * Extracts trace context, baggage, correlation ID and deadline from a carrier. At an `edge` the caller's
 * trace becomes a link and its baggage is dropped; a missing or invalid correlation ID is replaced by a
 * fresh one so every log line of the unit of work carries one.
 */
export function extractInbound<C>(
  core: OperationCore,
  carrier: C,
  getter: TextMapGetter<C>,
  edge: boolean,
): Inbound {
  const active = context.active();
  let ctx: Context;
  let links: Link[] | undefined;
  if (edge) {
    const extracted = core.propagator.extractEdge(active, carrier, getter as TextMapGetter);
    ctx = extracted.context;
    if (extracted.remote !== undefined) links = [{ context: extracted.remote }];
  } else {
    ctx = core.propagator.extract(active, carrier, getter as TextMapGetter);
  }
  let correlationId = getCorrelationId(ctx);
  if (correlationId === undefined) {
    ctx = setCorrelationId(ctx, undefined);
    correlationId = getCorrelationId(ctx)!;
  }
  return { context: ctx, links, correlationId };
}

/**
 * The rejection for inbound work whose caller's deadline was already spent on arrival, or undefined
 * when time is left (or no deadline came): a server answers it at once instead of doing work nobody
 * will wait for. One rule for every transport.
 */
export function spentDeadline(ctx: Context): TimeoutError | undefined {
  const left = remainingMs(ctx);
  return left !== undefined && left <= 0 ? new TimeoutError(0, 'deadline') : undefined;
}
