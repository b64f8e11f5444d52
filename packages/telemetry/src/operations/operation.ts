import {
  type Attributes,
  type Context,
  context,
  type Link,
  type Span,
  type SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { errorMessage, errorType } from './error-type.js';

/** How an operation ended, as the protocol profile judged it. */
export interface OperationEnd {
  /** The failure, if the operation failed (sets the span status and `exception` event). */
  readonly error?: unknown;
  /** The `error.type` to record; derived from `error` when omitted and the operation failed. */
  readonly errorType?: string;
  /** Attributes known only at the end (status codes, route). */
  readonly attributes?: Attributes;
  /** A new span name, when the final name is known only at the end (an HTTP route). */
  readonly name?: string;
}

/**
 * One unit of work with its span and its context. Protocol profiles (http, rpc, messaging) create these
 * so span names, attributes, status and durations are decided in one place for every adapter.
 */
export class Operation {
  readonly span: Span;
  /** The context to run the work in: the span, plus whatever the inbound carrier brought. */
  readonly context: Context;
  readonly startedAt = performance.now();
  #ended = false;

  constructor(
    tracer: Tracer,
    name: string,
    kind: SpanKind,
    parent: Context,
    attributes: Attributes,
    links?: Link[],
  ) {
    this.span = tracer.startSpan(name, { kind, attributes, ...(links ? { links } : {}) }, parent);
    this.context = trace.setSpan(parent, this.span);
  }

  /** The trace ID when the span is sampled, for exemplars; undefined otherwise. */
  get sampledTraceId(): string | undefined {
    const sc = this.span.spanContext();
    return (sc.traceFlags & TraceFlags.SAMPLED) === TraceFlags.SAMPLED ? sc.traceId : undefined;
  }

  /** Runs `fn` inside the operation's context. */
  run<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  /** Ends the span once; returns the duration in seconds and the error type recorded (if any). */
  finish(end: OperationEnd): { seconds: number; errorType: string | undefined } {
    const seconds = (performance.now() - this.startedAt) / 1000;
    if (this.#ended) return { seconds, errorType: undefined };
    this.#ended = true;
    const span = this.span;
    if (end.name !== undefined) span.updateName(end.name);
    if (end.attributes !== undefined) span.setAttributes(end.attributes);
    let type = end.errorType;
    if (end.error !== undefined) {
      type ??= errorType(end.error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(end.error) });
      span.addEvent('exception', {
        'exception.type': type,
        'exception.message': errorMessage(end.error),
      });
    } else if (type !== undefined) {
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    if (type !== undefined) span.setAttribute('error.type', type);
    span.end();
    return { seconds, errorType: type };
  }
}
