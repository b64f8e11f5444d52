import { getDeadline, msUntil, setDeadline } from '@keel/resilience';
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
import { BAGGAGE_HEADER, BAGGAGE_MAX_BYTES, parseBaggage, serializeBaggage } from './baggage.js';
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
import { parseTracestate, TRACESTATE_HEADER, TRACESTATE_MAX_LENGTH, tracestateHeader } from './tracestate.js';

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
    const received = typeof option === 'string' ? JSON.stringify(option) : String(option);
    throw new TypeError(
      `keelPropagator: options.correlationHeader must be an HTTP header name other than the trace, baggage and deadline headers, received ${received}`,
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

  /** Resolves and validates `options` once; see {@link keelPropagator}. */
  constructor(options: KeelPropagatorOptions = {}) {
    this.#correlationHeader = resolveCorrelationHeader(options.correlationHeader);
    this.#fields = [...new Set([...RESERVED, this.#correlationHeader, REQUEST_ID_HEADER])];
    if (options.randomTraceIds !== undefined && typeof options.randomTraceIds !== 'boolean') {
      throw new TypeError(
        `keelPropagator: options.randomTraceIds must be a boolean, received ${String(options.randomTraceIds)}`,
      );
    }
    this.#randomTraceIds = options.randomTraceIds === true;
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
    const baggage = parseBaggage(joined(getter.get(carrier, BAGGAGE_HEADER), BAGGAGE_MAX_BYTES));
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
    const parent = parseTraceparent(first(getter.get(carrier, TRACEPARENT_HEADER)));
    if (parent === undefined) return undefined;
    // tracestate is read only after traceparent parsed, as the spec requires.
    const traceState = parseTracestate(joined(getter.get(carrier, TRACESTATE_HEADER), TRACESTATE_MAX_LENGTH));
    return traceState === undefined ? parent : { ...parent, traceState };
  }

  #extractLocal(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    let next = ctx;
    let correlationId = first(getter.get(carrier, this.#correlationHeader));
    if (!isValidCorrelationId(correlationId)) correlationId = first(getter.get(carrier, REQUEST_ID_HEADER));
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
