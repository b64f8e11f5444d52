import { currentTelemetry, type Telemetry } from '@keel/telemetry';
import { checkTelemetry } from '@keel/telemetry/adapter';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Serves the Prometheus scrape: OpenMetrics with `trace_id` exemplars when the scraper asks for it
 * (`Accept: application/openmetrics-text`), Prometheus text 0.0.4 otherwise.
 *
 * @example
 * app.get('/metrics', metricsRoute(telemetry));
 */
export function metricsRoute(telemetry?: Telemetry): RequestHandler {
  const fixed = checkTelemetry('metricsRoute', 'argument telemetry', telemetry);
  return function metrics(req: Request, res: Response, next: NextFunction): void {
    (fixed ?? currentTelemetry()).scrape(req.headers.accept).then(({ contentType, body }) => {
      res.statusCode = 200;
      res.setHeader('content-type', contentType);
      res.setHeader('cache-control', 'no-store');
      res.end(body);
    }, next);
  };
}
