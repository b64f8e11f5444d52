import { outcomeStatus } from '@keel/telemetry/adapter';
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';
import { requestState } from './internal/request-state.js';
import { sendJson, sendOutcome } from './internal/respond.js';
import { checkOptions, received } from './internal/validate.js';

/** Options of {@link keelErrorHandler}. */
export interface KeelErrorHandlerOptions {
  /**
   * What to do with errors that are not Keel outcomes: `'next'` passes them on to your next error
   * handler (or Express's), `'respond'` logs them with their stack and answers a generic 500.
   * @default 'next'
   */
  unhandled?: 'next' | 'respond';
}

const KNOWN = ['unhandled'] as const;

/**
 * Answers Keel outcomes through the one shared table (timeout 504, circuit open and bulkhead full 503,
 * rate limited 429, each with `Retry-After` when one applies; cancelled 499) with a small JSON body
 * `{ error: { code, message } }`, and hands the error to the request's span. Install it last.
 *
 * @example
 * app.use(keelErrorHandler({ unhandled: 'respond' }));
 */
export function keelErrorHandler(options?: KeelErrorHandlerOptions): ErrorRequestHandler {
  const opts = checkOptions<KeelErrorHandlerOptions>('keelErrorHandler', options, KNOWN);
  if (opts.unhandled !== undefined && opts.unhandled !== 'next' && opts.unhandled !== 'respond') {
    throw new TypeError(
      `keelErrorHandler: option unhandled must be 'next' or 'respond', received ${received(opts.unhandled)}`,
    );
  }
  const respond = opts.unhandled === 'respond';

  // Four parameters: that is how Express recognises an error handler.
  return function keelErrorHandler(error: unknown, req: Request, res: Response, next: NextFunction): void {
    const state = requestState(req);
    if (state !== undefined) state.error = error;
    // Too late to answer: Express's own handler closes the connection.
    if (res.headersSent) {
      next(error);
      return;
    }
    const status = outcomeStatus(error);
    if (status !== undefined) {
      sendOutcome(res, (error as { code: Parameters<typeof sendOutcome>[1] }).code, status);
      return;
    }
    if (!respond) {
      next(error);
      return;
    }
    const logger = state?.telemetry.logger;
    const log = () => logger?.error({ err: error }, 'unhandled error');
    if (state === undefined) log();
    else state.op.run(log);
    sendJson(res, 500, { error: { code: 'INTERNAL', message: 'Internal server error.' } });
  };
}
