import { currentTelemetry, type Telemetry } from '@keel/telemetry';
import { outcomeStatus, spentDeadline, startHttpServer, trackExchange } from '@keel/telemetry/adapter';
import { defaultTextMapGetter } from '@opentelemetry/api';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { attachState, requestState } from './internal/request-state.js';
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
  const fixed = checkTelemetry<Telemetry>(owner, 'option telemetry', opts.telemetry, 'scrape');
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
    const op = startHttpServer(telemetry, {
      carrier: req.headers,
      getter: defaultTextMapGetter,
      method: req.method,
      edge,
      scheme: req.protocol === 'https' ? 'https' : 'http',
      accessLog,
    });
    const state = attachState(req, res, op, telemetry);
    trackExchange(op, req, res, state);
    const spent = rejectExpired ? spentDeadline(op.context) : undefined;
    if (spent !== undefined) {
      state.error = spent;
      const status = outcomeStatus(spent);
      if (status !== undefined) sendOutcome(res, spent.code, status);
      return;
    }
    op.run(next);
  };
}
