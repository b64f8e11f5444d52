import { isKeelError, setDeadline } from '@keel/resilience';
import {
  type Context,
  context as otelContext,
  SpanKind,
  type TextMapGetter,
  type TextMapSetter,
} from '@opentelemetry/api';
import { OwnFieldsRecord } from '../logging/log-fields.js';
import { unredacted } from '../logging/unredacted.js';
import type { OperationCore } from './core.js';
import { httpSpanName, serverRequestAttributes } from './http-attributes.js';
import { extractInbound } from './inbound.js';
import { Operation, type OperationEnd } from './operation.js';

const METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'QUERY',
]);

/** The method as the conventions want it: a known method in upper case, anything else `_OTHER`. */
export function normalizeMethod(method: string | undefined): string {
  const upper = (method ?? '').toUpperCase();
  return METHODS.has(upper) ? upper : '_OTHER';
}

/** What an inbound HTTP adapter knows when a request arrives. */
export interface HttpServerStart<C> {
  readonly carrier: C;
  readonly getter: TextMapGetter<C>;
  readonly method: string | undefined;
  /** Start a new trace and link the caller's, and drop inbound baggage (services reached from outside). @default false */
  readonly edge?: boolean;
  readonly scheme?: 'http' | 'https';
  /** Write one access log line when the request ends. @default true */
  readonly accessLog?: boolean;
  /**
   * The request target as received (`req.url`): the span's `url.path` (and `url.query` with
   * `recordQuery`); its path, without the query string, bounded and with control characters escaped, goes
   * on the access log line. Never into metric labels.
   */
  readonly target?: string | undefined;
  /** The HTTP version as Node reports it (`req.httpVersion`), for `network.protocol.version`. */
  readonly httpVersion?: string | undefined;
  /** The connection's peer (`req.socket.remoteAddress`), for `client.address` and `network.peer.address`. */
  readonly peerAddress?: string | undefined;
  /** The connection's peer port (`req.socket.remotePort`), for `network.peer.port`. */
  readonly peerPort?: number | undefined;
  /**
   * Put the query string on the span as `url.query`, the values of sensitive keys (`token`, `sig`,
   * `password`…) replaced by `REDACTED`. Off by default: query strings carry credentials. @default false
   */
  readonly recordQuery?: boolean;
}

/** What an inbound HTTP adapter reports when the response is finished. */
export interface HttpServerEnd {
  /** The matched route template (`/orders/:id`), never the raw path; undefined when nothing matched. */
  readonly route?: string | undefined;
  readonly statusCode: number;
  /**
   * The error the application raised, if any. It marks the span failed when the status is 5xx or the error
   * is a Keel outcome (429, 499, 503, 504); an error answered with another 4xx is the caller's mistake,
   * not a failure of this service, and is not recorded (the semantic conventions' rule for server spans).
   */
  readonly error?: unknown;
}

/** One inbound HTTP request in flight. */
export interface HttpServerOperation {
  /** Run the handler in this: span, correlation ID, deadline and baggage. */
  readonly context: Context;
  readonly correlationId: string;
  /** The trace this request belongs to (for a response header or an error page). */
  readonly traceId: string;
  run<T>(fn: () => T): T;
  /**
   * Writes the correlation ID onto the response under the propagator's correlation header (and nothing
   * else), so the caller can quote it.
   */
  echoCorrelationId<R>(carrier: R, setter: TextMapSetter<R>): void;
  /** Ends the span, records the histogram and writes the access log line; only the first call counts. */
  end(end: HttpServerEnd): void;
}

/** Starts the server span of an inbound HTTP request; `end` names it `{method} {route}` and records the histogram. */
export function startHttpServer<C>(core: OperationCore, start: HttpServerStart<C>): HttpServerOperation {
  return new HttpServer(core, start);
}

// A class, so the methods sit on the prototype rather than being closures made per request.
class HttpServer implements HttpServerOperation {
  readonly context: Context;
  readonly correlationId: string;
  readonly traceId: string;
  readonly #core: OperationCore;
  readonly #op: Operation;
  readonly #method: string;
  readonly #accessLog: boolean;
  readonly #target: string | undefined;
  #ended = false;

  constructor(core: OperationCore, start: HttpServerStart<unknown>) {
    const inbound = extractInbound(core, start.carrier, start.getter, start.edge === true);
    const method = normalizeMethod(start.method);
    const op = new Operation(
      core.tracer,
      httpSpanName(method),
      SpanKind.SERVER,
      inbound.context,
      serverRequestAttributes(start, method),
      inbound.links,
    );
    this.context = op.context;
    this.correlationId = inbound.correlationId;
    this.traceId = op.span.spanContext().traceId;
    this.#core = core;
    this.#op = op;
    this.#method = method;
    this.#accessLog = start.accessLog !== false;
    this.#target = start.target;
  }

  run<T>(fn: () => T): T {
    return this.#op.run(fn);
  }

  echoCorrelationId<R>(carrier: R, setter: TextMapSetter<R>): void {
    // The ID was validated (or generated) on the way in, so it is written as it is.
    setter.set(carrier, this.#core.propagator.correlationHeader, this.correlationId);
  }

  end({ route, statusCode, error: raised }: HttpServerEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    const op = this.#op;
    const method = this.#method;
    const serverError = statusCode >= 500;
    const error = raised !== undefined && (serverError || isKeelError(raised)) ? raised : undefined;
    const name = httpSpanName(method, route);
    const attributes =
      route === undefined
        ? { 'http.response.status_code': statusCode }
        : { 'http.route': route, 'http.response.status_code': statusCode };
    const outcome: OperationEnd =
      error !== undefined
        ? { name, attributes, error }
        : serverError
          ? { name, attributes, errorType: String(statusCode) }
          : { name, attributes };
    const { seconds, errorType } = op.finish(outcome);
    this.#core.metrics.httpServerDuration.record(
      {
        http_request_method: method,
        http_route: route,
        http_response_status_code: statusCode,
        error_type: errorType,
      },
      seconds,
      op.sampledTraceId,
    );
    if (this.#accessLog) this.#log(route, statusCode, seconds, errorType, serverError);
  }

  #log(
    route: string | undefined,
    statusCode: number,
    seconds: number,
    errorType: string | undefined,
    serverError: boolean,
  ): void {
    // The record brings the span's and the request's fields itself, as the logger's lookup would find them
    // inside `run`: no `context.with` for one line.
    const record = new AccessRecord(this.#op.span.spanContext(), this.correlationId);
    record.http = { method: this.#method, route, status_code: statusCode };
    if (this.#target !== undefined) record.url = { path: loggedPath(this.#target) };
    record.duration_ms = Math.round(seconds * 1e4) / 10;
    record.error_type = errorType;
    unredacted(this.#core.logger)[serverError ? 'error' : 'info'](record, 'request completed');
  }
}

/** The access log line of one request, after the trace and correlation fields. */
class AccessRecord extends OwnFieldsRecord {
  http?: { method: string; route: string | undefined; status_code: number };
  url?: { path: string };
  duration_ms?: number;
  error_type?: string | undefined;
}

/** The longest request path an access log line carries; longer ones are cut and end in `…`. */
export const MAX_LOGGED_PATH = 256;

// Control characters, and the Unicode ones that break or reorder a line when it is displayed.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * The path of a request target for a log line: without the query string (which carries tokens more often
 * than not) or fragment, without the scheme and host of an absolute-form target, cut to
 * {@link MAX_LOGGED_PATH} characters, and with unprintable characters percent-encoded, so a caller can
 * neither inflate nor forge log lines through the URL.
 */
export function loggedPath(target: string): string {
  let end = target.length;
  const query = target.indexOf('?');
  if (query !== -1) end = query;
  const fragment = target.indexOf('#');
  if (fragment !== -1 && fragment < end) end = fragment;
  let start = 0;
  if (target[0] !== '/') {
    const authority = target.indexOf('://');
    if (authority !== -1 && authority < end) {
      const slash = target.indexOf('/', authority + 3);
      start = slash === -1 || slash > end ? end : slash;
    }
  }
  let path = target.slice(start, Math.min(end, start + MAX_LOGGED_PATH));
  // Never cut a surrogate pair in half.
  if (end - start > MAX_LOGGED_PATH) path = `${path.replace(/[\ud800-\udbff]$/, '')}…`;
  return path.replace(UNPRINTABLE, encodeURIComponent);
}

/** The parts of the destination a client span and the egress allow-list read: a `URL` has them all. */
export type HttpClientUrl = Pick<URL, 'origin' | 'protocol' | 'hostname' | 'port' | 'pathname'>;

/** What an outbound HTTP client knows before one physical attempt. */
export interface HttpClientStart<C> {
  readonly carrier: C;
  readonly setter: TextMapSetter<C>;
  readonly method: string;
  /** Where the attempt goes: a `URL`, or its parts (a client that parsed its base URL once need not parse per call). */
  readonly url: HttpClientUrl;
  /** The attempt number from 1; attempts after the first carry `http.request.resend_count`. @default 1 */
  readonly attempt?: number;
  /** The instant bounding this attempt (`ExecuteContext.deadline`), sent downstream as what remains. */
  readonly deadline?: number | undefined;
  /**
   * `false` injects the active context (the allow-list applied to `url`'s host) without starting a span or
   * recording the histogram, for callers whose own client or instrumentation owns the span. @default true
   */
  readonly span?: boolean;
}

/** One outbound HTTP attempt in flight. */
export interface HttpClientOperation {
  /** The attempt's context: its span and deadline (built on first read; the headers do not need it). */
  readonly context: Context;
  end(end: { statusCode?: number; error?: unknown }): void;
}

/** An attempt whose context nobody has asked for yet: the deadline is added on first read. */
class ClientContext {
  #context: Context | undefined = undefined;

  constructor(
    readonly parent: Context,
    readonly deadline: number | undefined,
  ) {}

  get context(): Context {
    this.#context ??= this.deadline === undefined ? this.parent : setDeadline(this.parent, this.deadline);
    return this.#context;
  }

  end(_end: { statusCode?: number; error?: unknown }): void {}
}

/** One attempt with a span: `end` finishes it and records the client duration histogram. */
class ClientAttempt extends ClientContext {
  constructor(
    readonly core: OperationCore,
    readonly op: Operation,
    readonly method: string,
    readonly hostname: string,
    readonly port: number,
    deadline: number | undefined,
  ) {
    super(op.context, deadline);
  }

  override end({ statusCode, error }: { statusCode?: number; error?: unknown }): void {
    const op = this.op;
    let outcome: Parameters<Operation['finish']>[0];
    if (statusCode === undefined) outcome = error === undefined ? {} : { error };
    else {
      const attributes = { 'http.response.status_code': statusCode };
      outcome =
        error !== undefined
          ? { attributes, error }
          : statusCode >= 400
            ? { attributes, errorType: String(statusCode) }
            : { attributes };
    }
    const { seconds, errorType } = op.finish(outcome);
    this.core.metrics.httpClientDuration.record(
      {
        http_request_method: this.method,
        server_address: this.hostname,
        // Services on one host (127.0.0.1, a sidecar's localhost) are told apart by their port.
        server_port: this.port,
        http_response_status_code: statusCode,
        error_type: errorType,
      },
      seconds,
      op.sampledTraceId,
    );
  }
}

/** Starts the client span of one HTTP attempt and injects context into the request headers. */
export function startHttpClient<C>(core: OperationCore, start: HttpClientStart<C>): HttpClientOperation {
  const url = start.url;
  const hostname = url.hostname;
  const active = otelContext.active();
  if (start.span === false) {
    injectClient(core, active, start, hostname);
    return new ClientContext(active, start.deadline);
  }
  const method = normalizeMethod(start.method);
  const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  const attempt = start.attempt ?? 1;
  const attributes: Record<string, string | number> = {
    'http.request.method': method,
    'server.address': hostname,
    'server.port': port,
    // Path only: query strings carry tokens more often than not.
    'url.full': `${url.origin}${url.pathname}`,
    'url.scheme': url.protocol === 'https:' ? 'https' : 'http',
  };
  if (method !== start.method) attributes['http.request.method_original'] = start.method.slice(0, 64);
  if (attempt > 1) attributes['http.request.resend_count'] = attempt - 1;
  // The span's parent is the active context; the attempt's deadline is only sent on (and added to `context`).
  const op = new Operation(core.tracer, httpSpanName(method), SpanKind.CLIENT, active, attributes);
  injectClient(core, op.context, start, hostname);
  return new ClientAttempt(core, op, method, hostname, port, start.deadline);
}

/** Everything to allow-listed hosts, `traceparent` alone to the others (DESIGN §6). */
function injectClient<C>(core: OperationCore, ctx: Context, start: HttpClientStart<C>, host: string): void {
  const setter = start.setter as TextMapSetter;
  if (core.allowsFullContext(host)) core.propagator.injectWithin(ctx, start.carrier, setter, start.deadline);
  else core.propagator.injectMinimal(ctx, start.carrier, setter);
}
