import type { ServerResponse } from 'node:http';
import type { KeelErrorCode } from '@keel/resilience';
import type { OutcomeStatus } from '@keel/telemetry/adapter';

// Fixed messages: an error's own text can name pipelines, hosts or peers' replies, which callers should not see.
const MESSAGES: Readonly<Record<KeelErrorCode, string>> = {
  KEEL_ERR_TIMEOUT: 'The request ran out of time.',
  KEEL_ERR_CANCELLED: 'The request was cancelled.',
  KEEL_ERR_CIRCUIT_OPEN: 'A dependency is unavailable; retry later.',
  KEEL_ERR_BULKHEAD_FULL: 'The service is at capacity; retry later.',
  KEEL_ERR_RATE_LIMITED: 'Too many requests; retry later.',
};

/** Answers `status` as JSON, unless the caller has gone or a response has begun. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Record<string, string>,
): void {
  if (res.headersSent || res.destroyed) return;
  res.statusCode = status;
  if (headers !== undefined)
    for (const name of Object.keys(headers)) res.setHeader(name, headers[name] ?? '');
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(JSON.stringify(body));
}

/** Answers a Keel outcome per the shared table: status, `Retry-After`, and `{ error: { code, message } }`. */
export function sendOutcome(res: ServerResponse, code: KeelErrorCode, status: OutcomeStatus): void {
  sendJson(
    res,
    status.httpStatus,
    { error: { code, message: MESSAGES[code] } },
    status.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(status.retryAfterSeconds) },
  );
}
