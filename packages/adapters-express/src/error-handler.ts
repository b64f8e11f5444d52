import { checkOneOf, checkOptions } from '@keel/resilience/adapter';
import { answerHttpError } from '@keel/telemetry/adapter';
import type { ErrorRequestHandler, NextFunction, Request, Response } from 'express';

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
 * Answers Keel outcomes through telemetry's one outcome table (timeout 504; circuit open and bulkhead
 * full 503; rate limited 429, each with `Retry-After` when one applies; a dependency that could not be
 * reached or kept failing 502; cancelled 499) with a small JSON body `{ error: { code, message } }`, and
 * hands the error to the request's span. Install it last.
 *
 * @example
 * app.use(keelErrorHandler({ unhandled: 'respond' }));
 */
export function keelErrorHandler(options?: KeelErrorHandlerOptions): ErrorRequestHandler {
  const opts = checkOptions<KeelErrorHandlerOptions>('keelErrorHandler', options, KNOWN);
  const unhandled =
    checkOneOf('keelErrorHandler', 'unhandled', opts.unhandled, ['next', 'respond'], 'next') === 'respond'
      ? 'respond'
      : 'pass';

  // Four parameters: that is how Express recognises an error handler.
  return function keelErrorHandler(error: unknown, _req: Request, res: Response, next: NextFunction): void {
    // Not answered (a response already begun, or an error left to the next handler): Express's own
    // handler closes the connection or answers it.
    if (!answerHttpError(res, error, unhandled)) next(error);
  };
}
