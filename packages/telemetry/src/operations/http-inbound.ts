import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { context, defaultTextMapGetter } from '@opentelemetry/api';
import { currentTelemetry, type Telemetry } from '../start-telemetry.js';
import { startHttpServer } from './http.js';
import { answerHttpError } from './http-answer.js';
import { spentDeadline } from './inbound.js';
import { checkInboundOptions } from './inbound-options.js';
import { type ExchangeState, exchangeOf, trackExchange } from './node-exchange.js';

/** The options every inbound HTTP adapter (`keel()`, `keelHandler()`) takes, resolved by {@link httpInbound}. */
export interface HttpInboundOptions {
  /** The telemetry to report to. @default currentTelemetry(), looked up per request */
  telemetry?: Telemetry;
  /**
   * This service is reached from outside: start a new trace and link the caller's, and drop inbound
   * baggage (the correlation ID and deadline are still honoured). @default false
   */
  edge?: boolean;
  /** Write one access log line per request. @default true */
  accessLog?: boolean;
  /**
   * Answer 504 at once, without running the handler, when the caller's deadline (`x-keel-deadline-ms` or
   * `grpc-timeout`) is already spent on arrival. @default true
   */
  rejectExpiredDeadline?: boolean;
  /**
   * Put the query string on the server span as `url.query`, the values of sensitive keys (`token`, `sig`,
   * `password`…) replaced by `REDACTED`. Off by default: query strings carry credentials. @default false
   */
  recordQuery?: boolean;
  /**
   * More request paths to leave untraced, beyond {@link DEFAULT_IGNORED_PATHS}: no span, no histogram
   * sample, no access log line. Exact paths (`/internal/ping`), matched without the query string and with
   * or without a trailing slash. @default []
   */
  ignore?: readonly string[];
}

/** The option keys of {@link HttpInboundOptions}, for an adapter's unknown-key check. */
export const HTTP_INBOUND_OPTION_KEYS = [
  'telemetry',
  'edge',
  'accessLog',
  'rejectExpiredDeadline',
  'recordQuery',
  'ignore',
] as const;

/**
 * Probe and scrape paths no inbound adapter traces: orchestrators and Prometheus call them every few
 * seconds, and a readiness probe answering 503 is the service telling the truth, not a failure to log.
 */
export const DEFAULT_IGNORED_PATHS: readonly string[] = ['/healthz', '/readyz', '/metrics'];

/** What an adapter adds to the one inbound flow: the work, the per-request state, and the scheme. */
export interface HttpInboundAdapter<Req extends IncomingMessage, Res extends ServerResponse, Next> {
  /** Runs the request's work (Express: `next()`; plain `node:http`: the user's handler); it may return a promise. */
  handle(req: Req, res: Res, next: Next): unknown;
  /** The state read when the response ends (route template, error); made for traced requests only. */
  state(req: Req): ExchangeState;
  /** `https` when the request came over TLS. @default the socket's `encrypted` flag */
  scheme?(req: Req): 'http' | 'https';
}

/**
 * The one inbound HTTP flow, for every adapter on `node:http`: per request, it leaves probe and ignored
 * paths untraced, extracts the caller's context, starts the server span, ties it to the response
 * (`trackExchange`), answers 504 at once when the caller's deadline is already spent, and runs the work
 * in the request's context; an error the work throws or rejects with is answered through
 * {@link answerHttpError}. Options are validated here, at construction, in `owner`'s name.
 *
 * @example
 * const listener = httpInbound('myAdapter', options, { handle: (req, res) => app(req, res), state: () => ({ route: undefined, error: undefined }) });
 */
export function httpInbound<Req extends IncomingMessage, Res extends ServerResponse, Next = undefined>(
  owner: string,
  options: HttpInboundOptions,
  adapter: HttpInboundAdapter<Req, Res, Next>,
): (req: Req, res: Res, next: Next) => void {
  const {
    telemetry: fixed,
    edge,
    accessLog,
    rejectExpiredDeadline,
    recordQuery,
    ignored,
  } = checkInboundOptions(owner, options, DEFAULT_IGNORED_PATHS);
  const { handle, state } = adapter;
  const scheme = adapter.scheme ?? socketScheme;

  return function keelInbound(req: Req, res: Res, next: Next): void {
    // A second adapter on the same request (an app mounted in an app) must not start a second span.
    if (exchangeOf(res) !== undefined || ignored.has(pathOf(req.url))) {
      invoke(handle, req, res, next);
      return;
    }
    const core = fixed ?? currentTelemetry();
    const op = startHttpServer(core, {
      carrier: req.headers,
      getter: defaultTextMapGetter,
      method: req.method,
      edge,
      scheme: scheme(req),
      accessLog,
      target: req.url,
      httpVersion: req.httpVersion,
      peerAddress: req.socket?.remoteAddress,
      peerPort: req.socket?.remotePort,
      recordQuery,
    });
    trackExchange(op, req, res, state(req), core);
    // Nobody waits for work whose caller's deadline was spent before it arrived.
    const spent = rejectExpiredDeadline ? spentDeadline(op.context) : undefined;
    if (spent !== undefined) {
      answer(res, spent);
      return;
    }
    context.with(op.context, invoke, undefined, handle, req, res, next);
  };
}

function invoke<Req, Res extends ServerResponse, Next>(
  handle: (req: Req, res: Res, next: Next) => unknown,
  req: Req,
  res: Res,
  next: Next,
): void {
  try {
    const result = handle(req, res, next);
    if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
      (result as PromiseLike<unknown>).then(undefined, (error: unknown) => answer(res, error));
    }
  } catch (error) {
    answer(res, error);
  }
}

/** Answers an error of the work; once the response has begun, the connection is closed instead. */
function answer(res: ServerResponse, error: unknown): void {
  if (!answerHttpError(res, error)) res.destroy(error instanceof Error ? error : undefined);
}

function socketScheme(req: IncomingMessage): 'http' | 'https' {
  return (req.socket as TLSSocket | null)?.encrypted === true ? 'https' : 'http';
}

/** The path of a request target, without query string and trailing slash, as ignored paths are matched. */
function pathOf(target: string | undefined): string {
  if (target === undefined) return '';
  const query = target.indexOf('?');
  const path = query === -1 ? target : target.slice(0, query);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
