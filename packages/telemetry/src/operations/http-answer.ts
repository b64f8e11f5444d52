import type { ServerResponse } from 'node:http';
import { currentTelemetry } from '../start-telemetry.js';
import { exchangeOf } from './node-exchange.js';
import { type OutcomeCode, outcomeStatus } from './outcome-status.js';

/** The body of every error a Keel HTTP server answers: a stable code and a fixed message, nothing internal. */
export interface HttpErrorBody {
  readonly error: { readonly code: OutcomeCode | 'INTERNAL'; readonly message: string };
}

/** What happens to an error that is not a Keel outcome: answered 500 and logged, or left to the caller. */
export type UnhandledError = 'respond' | 'pass';

const INTERNAL: HttpErrorBody = { error: { code: 'INTERNAL', message: 'Internal server error.' } };

/**
 * Answers an error raised while a `node:http` request was handled, the same way for every HTTP adapter,
 * and hands it to the request's span. A Keel outcome (or a downstream that could not be reached or kept
 * failing) is answered through the outcome table: its status, `Retry-After` when one applies, and
 * `{ error: { code, message } }`. Any other error is, with `unhandled: 'respond'`, logged with its stack
 * and answered 500 `INTERNAL`. Returns false, answering nothing, when the response has already begun or
 * the error is left to the caller (`'pass'`): the adapter passes it on or closes the connection.
 */
export function answerHttpError(
  res: ServerResponse,
  error: unknown,
  unhandled: UnhandledError = 'respond',
): boolean {
  const exchange = exchangeOf(res);
  if (exchange !== undefined) exchange.state.error = error;
  if (res.headersSent) return false;
  // The caller has gone: the error is recorded (499), and nobody is left to read an answer.
  if (res.destroyed) return true;
  const status = outcomeStatus(error);
  if (status !== undefined) {
    if (status.retryAfterSeconds !== undefined) res.setHeader('retry-after', status.retryAfterSeconds);
    sendJson(res, status.httpStatus, { error: { code: status.code, message: status.message } });
    return true;
  }
  if (unhandled === 'pass') return false;
  const logger = (exchange?.core ?? currentTelemetry()).logger;
  const log = () => logger.error({ err: error }, 'unhandled error');
  if (exchange === undefined) log();
  else exchange.op.run(log);
  sendJson(res, 500, INTERNAL);
  return true;
}

/** Answers `status` with a JSON body that no cache keeps, unless the caller has gone or a response has begun. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify(body));
}
