import { getDeadline, msUntil, setDeadline } from '@keel/resilience';
import { checkBoolean, checkFunction, invalidOption } from '@keel/resilience/adapter';
import {
  type Context,
  isSpanContextValid,
  propagation,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  trace,
} from '@opentelemetry/api';
import {
  BAGGAGE_HEADER,
  BAGGAGE_MAX_BYTES,
  BAGGAGE_MAX_MEMBERS,
  parseBaggage,
  serializeBaggage,
} from './baggage.js';
import { first, joined } from './carrier-values.js';
import { getCorrelationId, isValidCorrelationId, setCorrelationId } from './correlation.js';
import {
  DEADLINE_HEADER,
  formatDeadlineHeader,
  GRPC_TIMEOUT_HEADER,
  parseDeadlineHeader,
  parseGrpcTimeout,
} from './deadline-header.js';
import { rememberExtractedTrace, withRandomFlag } from './random-trace.js';
import { formatTraceparent, parseTraceparent, TRACEPARENT_HEADER } from './traceparent.js';
import {
  parseTracestate,
  TRACESTATE_HEADER,
  TRACESTATE_MAX_LENGTH,
  TRACESTATE_MAX_MEMBERS,
  tracestateHeader,
} from './tracestate.js';

/** Options of {@link keelPropagator}. */
export interface KeelPropagatorOptions {
  /**
   * Header that carries the correlation ID; `x-request-id` is also read when it is absent or invalid.
   * @default 'x-correlation-id'
   */
  correlationHeader?: string;
  /**
   * Trace IDs this process starts are random (OpenTelemetry's default ID generator), so traces started
   * here go out with the Level 2 random flag. Leave it off under an ID generator that is not random
   * (time-based IDs, for one). @default false; `startTelemetry` turns it on for the SDK it starts
   */
  randomTraceIds?: boolean;
  /**
   * Told each time inbound context is dropped or replaced: a `traceparent`, `tracestate`, `baggage` or
   * correlation ID header that was present but invalid or over its limits. `startTelemetry` counts these in
   * `keel_inbound_context_dropped_total`. Called on the request path: keep it cheap, and log nothing per call.
   */
  onDropped?: DroppedContextListener;
}

/** Why inbound context was dropped: it broke the grammar, or it was over a size or member limit. */
export type DroppedContextReason = 'invalid' | 'too_large';

/** Told which header was dropped and why; `header` is one of the propagator's fields. */
export type DroppedContextListener = (header: string, reason: DroppedContextReason) => void;

/** Non-empty members of a list header, counted only once a parser has refused it. */
function members(value: string): number {
  let count = 0;
  for (const member of value.split(',')) if (member.trim() !== '') count += 1;
  return count;
}

/** Why a list header the parser refused was dropped; `undefined` when there was nothing to keep. */
function listDropReason(raw: unknown, value: string | undefined, maxChars: number, maxMembers: number) {
  if (raw === undefined) return undefined;
  if (value === undefined) return Array.isArray(raw) ? 'too_large' : 'invalid';
  if (value.length > maxChars) return 'too_large';
  const count = members(value);
  if (count === 0) return undefined;
  return count > maxMembers ? 'too_large' : 'invalid';
}

/** What {@link KeelPropagator.extractEdge} returns: a context without the caller's trace, and that trace. */
export interface EdgeExtraction {
  /** The input context with correlation ID and deadline from the carrier, and no span or baggage. */
  context: Context;
  /** The caller's span context, to be linked from the new trace rather than continued. */
  remote: SpanContext | undefined;
}

const REQUEST_ID_HEADER = 'x-request-id';
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]{1,256}$/;
const RESERVED = new Set([
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
  BAGGAGE_HEADER,
  DEADLINE_HEADER,
  GRPC_TIMEOUT_HEADER,
]);

function resolveCorrelationHeader(option: unknown): string {
  if (option === undefined) return 'x-correlation-id';
  const name = typeof option === 'string' ? option.toLowerCase() : undefined;
  // Names that live on Object.prototype would read inherited members of a plain-object carrier.
  if (name === undefined || !HEADER_NAME.test(name) || name in Object.prototype || RESERVED.has(name)) {
    invalidOption(
      'keelPropagator',
      'correlationHeader',
      'an HTTP header name other than the trace, baggage and deadline headers',
      option,
    );
  }
  return name;
}

/**
 * The composite propagator of DESIGN §3: W3C trace context and baggage, the correlation ID and the
 * relative deadline, each parsed within the limits of DESIGN §6.
 */
export class KeelPropagator implements TextMapPropagator {
  readonly #correlationHeader: string;
  readonly #fields: readonly string[];
  readonly #randomTraceIds: boolean;
  readonly #onDropped: DroppedContextListener | undefined;

  /** Resolves and validates `options` once; see {@link keelPropagator}. */
  constructor(options: KeelPropagatorOptions = {}) {
    this.#correlationHeader = resolveCorrelationHeader(options.correlationHeader);
    this.#fields = [...new Set([...RESERVED, this.#correlationHeader, REQUEST_ID_HEADER])];
    this.#randomTraceIds = checkBoolean('keelPropagator', 'randomTraceIds', options.randomTraceIds, false);
    this.#onDropped = checkFunction('keelPropagator', 'onDropped', options.onDropped);
  }

  /** The header carrying the correlation ID, lowercase. */
  get correlationHeader(): string {
    return this.#correlationHeader;
  }

  /** Writes trace context, baggage, correlation ID and remaining deadline of `ctx` into `carrier`. */
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    this.injectWithin(ctx, carrier, setter, undefined);
  }

  /**
   * `inject`, with the deadline the nearer of `ctx`'s and `deadline` (a `performance.now()` instant): what
   * `inject(setDeadline(ctx, deadline), …)` writes, without building that context.
   */
  injectWithin(ctx: Context, carrier: unknown, setter: TextMapSetter, deadline: number | undefined): void {
    const spanContext = this.injectMinimal(ctx, carrier, setter);
    if (spanContext !== undefined) {
      const state = tracestateHeader(spanContext.traceState);
      if (state !== '') setter.set(carrier, TRACESTATE_HEADER, state);
    }
    const baggage = serializeBaggage(propagation.getBaggage(ctx));
    if (baggage !== '') setter.set(carrier, BAGGAGE_HEADER, baggage);
    const correlationId = getCorrelationId(ctx);
    if (isValidCorrelationId(correlationId)) setter.set(carrier, this.#correlationHeader, correlationId);
    const inherited = getDeadline(ctx);
    const nearest =
      deadline === undefined || (inherited !== undefined && inherited <= deadline) ? inherited : deadline;
    if (nearest !== undefined) setter.set(carrier, DEADLINE_HEADER, formatDeadlineHeader(msUntil(nearest)));
  }

  /**
   * Writes only `traceparent`, for egress to hosts that are not allow-listed (DESIGN §6); returns the
   * span context written, if any.
   */
  injectMinimal(ctx: Context, carrier: unknown, setter: TextMapSetter): SpanContext | undefined {
    const spanContext = trace.getSpanContext(ctx);
    if (spanContext === undefined || !isSpanContextValid(spanContext)) return undefined;
    setter.set(
      carrier,
      TRACEPARENT_HEADER,
      formatTraceparent(withRandomFlag(ctx, spanContext, this.#randomTraceIds)),
    );
    return spanContext;
  }

  /** A context continuing the caller's trace, with its baggage, correlation ID and deadline. */
  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    let next = this.#extractLocal(ctx, carrier, getter);
    const remote = this.#remote(carrier, getter);
    if (remote !== undefined) next = rememberExtractedTrace(trace.setSpanContext(next, remote), remote);
    const raw = getter.get(carrier, BAGGAGE_HEADER);
    const value = joined(raw, BAGGAGE_MAX_BYTES);
    const baggage = parseBaggage(value);
    if (baggage === undefined && raw !== undefined && this.#onDropped !== undefined) {
      const reason = listDropReason(raw, value, BAGGAGE_MAX_BYTES, BAGGAGE_MAX_MEMBERS);
      if (reason !== undefined) this.#onDropped(BAGGAGE_HEADER, reason);
    }
    return baggage === undefined ? next : propagation.setBaggage(next, baggage);
  }

  /**
   * For edge services that start a new trace: the caller's correlation ID and deadline without its trace
   * parent or baggage, and the caller's span context apart, to link.
   */
  extractEdge(ctx: Context, carrier: unknown, getter: TextMapGetter): EdgeExtraction {
    const bare = propagation.deleteBaggage(trace.deleteSpan(ctx));
    return { context: this.#extractLocal(bare, carrier, getter), remote: this.#remote(carrier, getter) };
  }

  /** Every header this propagator reads or writes, lowercase. */
  fields(): string[] {
    return [...this.#fields];
  }

  #remote(carrier: unknown, getter: TextMapGetter): SpanContext | undefined {
    const rawParent = first(getter.get(carrier, TRACEPARENT_HEADER));
    const parent = parseTraceparent(rawParent);
    if (parent === undefined) {
      if (rawParent !== undefined && rawParent !== '') this.#onDropped?.(TRACEPARENT_HEADER, 'invalid');
      return undefined;
    }
    // tracestate is read only after traceparent parsed, as the spec requires.
    const rawState = getter.get(carrier, TRACESTATE_HEADER);
    const state = joined(rawState, TRACESTATE_MAX_LENGTH);
    const traceState = parseTracestate(state);
    if (traceState === undefined && rawState !== undefined && this.#onDropped !== undefined) {
      const reason = listDropReason(rawState, state, TRACESTATE_MAX_LENGTH, TRACESTATE_MAX_MEMBERS);
      if (reason !== undefined) this.#onDropped(TRACESTATE_HEADER, reason);
    }
    return traceState === undefined ? parent : { ...parent, traceState };
  }

  /** Reports an invalid correlation ID that was sent (an empty or absent one is simply replaced). */
  #droppedId(header: string, value: unknown): void {
    if (value === undefined || value === '' || this.#onDropped === undefined) return;
    this.#onDropped(header, typeof value === 'string' && value.length > 128 ? 'too_large' : 'invalid');
  }

  #extractLocal(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    let next = ctx;
    let correlationId = first(getter.get(carrier, this.#correlationHeader));
    if (!isValidCorrelationId(correlationId)) {
      this.#droppedId(this.#correlationHeader, correlationId);
      correlationId = first(getter.get(carrier, REQUEST_ID_HEADER));
      if (!isValidCorrelationId(correlationId)) this.#droppedId(REQUEST_ID_HEADER, correlationId);
    }
    // An invalid or absent ID is left unset: the server operation helper generates a fresh one.
    if (isValidCorrelationId(correlationId)) next = setCorrelationId(next, correlationId);
    // setDeadline keeps the earlier instant, so the stricter of both headers (and of `ctx`) wins.
    const ms = parseDeadlineHeader(first(getter.get(carrier, DEADLINE_HEADER)));
    if (ms !== undefined) next = setDeadline(next, performance.now() + ms);
    const grpcMs = parseGrpcTimeout(first(getter.get(carrier, GRPC_TIMEOUT_HEADER)));
    if (grpcMs !== undefined) next = setDeadline(next, performance.now() + grpcMs);
    return next;
  }
}

/**
 * A {@link KeelPropagator}; throws a `TypeError` naming the option when `correlationHeader` is not a usable
 * header name.
 *
 * @example
 * propagation.setGlobalPropagator(keelPropagator({ correlationHeader: 'x-trace-id' }));
 */
export function keelPropagator(options?: KeelPropagatorOptions): KeelPropagator {
  return new KeelPropagator(options);
}
