import { checkOptions } from '@keel/resilience/adapter';
import { HTTP_INBOUND_OPTION_KEYS, type HttpInboundOptions, httpInbound } from '@keel/telemetry/adapter';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { listenToRouter, RouteRecorder } from './internal/route-recorder.js';

/**
 * Options of {@link keel}: telemetry's inbound options (`telemetry`, `edge`, `accessLog`,
 * `rejectExpiredDeadline`, `ignore`, `recordQuery`), the same for every Keel HTTP server.
 */
export type KeelOptions = HttpInboundOptions;

/**
 * The one Express middleware: each request gets a server span named `{method} {route}`, the duration
 * histogram and an access log line, and runs its handlers inside the caller's trace, baggage,
 * correlation ID (echoed on the response) and deadline. Probe and scrape paths (`/healthz`, `/readyz`,
 * `/metrics`, and those in `ignore`) are left untraced. Install it first, on the app.
 *
 * @example
 * app.use(keel({ telemetry }));
 * app.get('/orders/:id', handler);
 * app.use(keelErrorHandler());
 */
export function keel(options?: KeelOptions): RequestHandler {
  const opts = checkOptions<KeelOptions>('keel', options, HTTP_INBOUND_OPTION_KEYS);
  const inbound = httpInbound<Request, Response, NextFunction>('keel', opts, {
    handle: callNext,
    state: recordRoute,
    scheme: requestScheme,
  });
  listenToRouter();
  return function keelMiddleware(req: Request, res: Response, next: NextFunction): void {
    inbound(req, res, next);
  };
}

function callNext(_req: Request, _res: Response, next: NextFunction): void {
  next();
}

function recordRoute(req: Request): RouteRecorder {
  return new RouteRecorder(req);
}

// Express's `req.protocol` honours the app's `trust proxy` setting.
function requestScheme(req: Request): 'http' | 'https' {
  return req.protocol === 'https' ? 'https' : 'http';
}
