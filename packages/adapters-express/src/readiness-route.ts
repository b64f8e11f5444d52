import { invalidOption } from '@keel/resilience/adapter';
import type { Readiness } from '@keel/telemetry/adapter';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendJson } from './internal/respond.js';

/**
 * The readiness probe: renders a `createReadiness()` model (from `@keel/telemetry`) as 200 when it is
 * ready and 503 when not, with its report as the JSON body. The model decides; this route only answers,
 * so the gRPC health service and `gracefulShutdown()` see and change exactly the same state.
 *
 * @example
 * const readiness = createReadiness({ pipelines: [payments], checks: { db: () => db.ping() } });
 * app.get('/readyz', readinessRoute(readiness));
 */
export function readinessRoute(readiness: Readiness): RequestHandler {
  if (
    typeof readiness !== 'object' ||
    readiness === null ||
    typeof (readiness as Partial<Readiness>).check !== 'function'
  ) {
    invalidOption('readinessRoute', 'argument readiness', 'the model createReadiness() returned', readiness);
  }
  return function readinessRoute(_req: Request, res: Response, next: NextFunction): void {
    readiness.check().then((report) => sendJson(res, report.status === 'ready' ? 200 : 503, report), next);
  };
}
