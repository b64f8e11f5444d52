import type { IncomingMessage, ServerResponse } from 'node:http';
import { CancelledError, isKeelError, remainingMs, TimeoutError } from '@keel/resilience';
import { currentTelemetry, outcomeStatus, type Telemetry } from '@keel/telemetry';
import { context, defaultTextMapGetter, type TextMapSetter } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { attachState, type RequestState, requestState } from './internal/request-state.js';
import { sendOutcome } from './internal/respond.js';
import { checkBoolean, checkOptions, checkTelemetry } from './internal/validate.js';

/** Options of {@link keel}. */
export interface KeelOptions {
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
   * Answer 504 at once, without running any later middleware or handler, when the caller's deadline
   * (`x-keel-deadline-ms` or `grpc-timeout`) is already spent on arrival. @default true
   */
  rejectExpiredDeadline?: boolean;
}

const KNOWN = ['telemetry', 'edge', 'accessLog', 'rejectExpiredDeadline'] as const;

const responseHeaders: TextMapSetter<ServerResponse> = {
  set(res, key, value) {
    if (!res.headersSent) res.setHeader(key, value);
  },
};

/**
 * The one Express middleware: each request gets a server span named `{method} {route}`, the duration
 * histogram and an access log line, and runs its handlers inside the caller's trace, baggage,
 * correlation ID (echoed on the response) and deadline. Install it first, on the app.
 *
 * @example
 * app.use(keel({ telemetry }));
 * app.get('/orders/:id', handler);
 * app.use(keelErrorHandler());
 */
export function keel(options?: KeelOptions): RequestHandler {
  const owner = 'keel';
  const opts = checkOptions<KeelOptions>(owner, options, KNOWN);
  const fixed = checkTelemetry<Telemetry>(owner, 'option telemetry', opts.telemetry, 'httpServer');
  const edge = checkBoolean(owner, 'edge', opts.edge, false);
  const accessLog = checkBoolean(owner, 'accessLog', opts.accessLog, true);
  const rejectExpired = checkBoolean(owner, 'rejectExpiredDeadline', opts.rejectExpiredDeadline, true);

  return function keelMiddleware(req: Request, res: Response, next: NextFunction): void {
    // A second keel() on the same request (an app mounted in an app) must not start a second span.
    if (requestState(req) !== undefined) {
      next();
      return;
    }
    const telemetry = fixed ?? currentTelemetry();
    const op = telemetry.httpServer({
      carrier: req.headers,
      getter: defaultTextMapGetter,
      method: req.method,
      edge,
      scheme: req.protocol === 'https' ? 'https' : 'http',
      accessLog,
    });
    const state = attachState(req, op, telemetry);
    op.echoCorrelationId(res, responseHeaders);
    res.once('finish', onFinish);
    res.once('close', onClose);
    // Listeners added later run in the request's context too: a middleware that reads the body stream
    // and calls next() from 'end' would otherwise hand the socket's (empty) context to every handler after it.
    context.bind(op.context, req);
    context.bind(op.context, res);
    if (rejectExpired) {
      const left = remainingMs(op.context);
      if (left !== undefined && left <= 0) {
        const error = new TimeoutError(0, 'deadline');
        state.error = error;
        const status = outcomeStatus(error);
        if (status !== undefined) sendOutcome(res, error.code, status);
        return;
      }
    }
    op.run(next);
  };
}

function onFinish(this: ServerResponse): void {
  const state = stateOf(this);
  if (state !== undefined) end(state, this.statusCode);
}

function onClose(this: ServerResponse): void {
  const state = stateOf(this);
  // 'close' without a finished response: the caller went away first (nginx's 499).
  if (state !== undefined && !this.writableFinished) {
    state.error ??= new CancelledError('the client closed the connection before the response was sent');
    end(state, 499);
  }
}

function stateOf(res: ServerResponse): RequestState | undefined {
  const req = (res as { req?: IncomingMessage }).req;
  return req === undefined ? undefined : requestState(req);
}

function end(state: RequestState, statusCode: number): void {
  if (state.ended) return;
  state.ended = true;
  const { error } = state;
  // An error a handler turned into a 4xx is the caller's mistake, not a failure of this service; Keel
  // outcomes (429, 499, 503, 504) are always recorded so their error.type reaches the dashboards.
  const failed = error !== undefined && (statusCode >= 500 || isKeelError(error));
  state.op.end({ route: state.route, statusCode, ...(failed ? { error } : {}) });
}
