import type { RequestHandler, Response } from 'express';
import { sendJson } from './internal/respond.js';

/**
 * A liveness probe: answers 200 `{"status":"ok"}` while the process can answer at all. It checks no
 * dependency on purpose, so an outage downstream never gets healthy pods restarted.
 */
export function liveness(): RequestHandler {
  return function liveness(_req, res: Response): void {
    sendJson(res, 200, { status: 'ok' });
  };
}
