import type { Outcome } from '@keel/resilience';
import { CONNECTION_ERROR_CODES } from '@keel/telemetry/adapter';
import { context, createContextKey } from '@opentelemetry/api';
import { isHttpStatusError, responseOf } from './errors.js';
import { type HttpResponse, isHttpResponse } from './response.js';
import { parseRetryAfter } from './retry-after.js';

/** Methods whose effect is the same however often they are sent (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
]);

/** Statuses that say "try again later": the request was not (or need not have been) acted upon. */
export const TRANSIENT_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);

/** Error codes of a connection that failed or broke (telemetry's list), and a Keel timeout: another attempt may succeed. */
export const TRANSIENT_ERROR_CODES: ReadonlySet<string> = new Set([
  'KEEL_ERR_TIMEOUT',
  ...CONNECTION_ERROR_CODES,
]);

/** What the classifiers need to know about the call in flight; carried in the OpenTelemetry context. */
export interface CallPolicy {
  /** Whether sending the request again is safe: an idempotent method or an idempotency key, and a replayable body. */
  readonly replayable: boolean;
  /** A `Retry-After` longer than this is not waited for: the response is returned instead. */
  readonly maxRetryAfterMs: number;
}

const callKey = createContextKey('keel.http.call');

/** The policy of the call running in the active context, if a Keel HTTP client started it. */
export function activeCallPolicy(): CallPolicy | undefined {
  return context.active().getValue(callKey) as CallPolicy | undefined;
}

/** False when the call in flight must not be sent again (true outside a Keel HTTP call). */
export function isReplayable(): boolean {
  return activeCallPolicy()?.replayable !== false;
}

/** Runs `fn` with `policy` visible to the classifiers of the pipeline it calls. */
export function withCallPolicy<T>(policy: CallPolicy, fn: () => T): T {
  return context.with(context.active().setValue(callKey, policy), fn);
}

function codeOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether an error is a connection failure or timeout worth another attempt (checks `cause` and `AggregateError`s). */
export function isTransientError(error: unknown, depth = 0): boolean {
  const code = codeOf(error);
  if (code !== undefined && TRANSIENT_ERROR_CODES.has(code)) return true;
  if (depth >= 3 || typeof error !== 'object' || error === null) return false;
  if (error instanceof AggregateError) return error.errors.some((e) => isTransientError(e, depth + 1));
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && isTransientError(cause, depth + 1);
}

const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;

/** Whether the client counts a response with `status` as a failure of the dependency: 5xx, 408 and 429. */
export function isFailureStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * The response an outcome stands for: the result of a successful attempt, or the response a failed attempt
 * was rejected with (the client rejects attempts whose response is a failure, see `isFailureStatus`).
 */
function responseIn(outcome: Outcome): Pick<HttpResponse, 'status' | 'headers'> | undefined {
  if (outcome.ok) return isHttpResponse(outcome.result) ? outcome.result : undefined;
  return isHttpStatusError(outcome.error) ? outcome.error : undefined;
}

/**
 * The outcome as a classifier written for responses sees it: a response the client rejected as a failure
 * is handed over as the result it was, so a user's `retryOn`/`failureOn`/`retryAfter` reads `result.status`.
 */
export function asResponseOutcome(outcome: Outcome): Outcome {
  if (outcome.ok) return outcome;
  const response = responseOf(outcome.error);
  return response === undefined ? outcome : { ok: true, result: response };
}

/** The `Retry-After` of a response outcome in ms, when valid. */
function hintOf(outcome: Outcome): number | undefined {
  const response = responseIn(outcome);
  return response === undefined ? undefined : parseRetryAfter(response.headers['retry-after']);
}

/**
 * The client's default `retry.retryOn`: transient errors and transient statuses, for calls that may be
 * sent again; a response whose `Retry-After` exceeds the call's bound is returned rather than waited for.
 * Use it in a pipeline of your own to keep the client's classification.
 */
export function httpRetryOn(outcome: Outcome): boolean {
  const policy = activeCallPolicy();
  if (policy?.replayable === false) return false;
  return isRetryableOutcome(outcome, policy?.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS);
}

function isRetryableOutcome(outcome: Outcome, maxRetryAfterMs: number): boolean {
  const response = responseIn(outcome);
  if (response === undefined) return !outcome.ok && isTransientError(outcome.error);
  if (!TRANSIENT_STATUSES.has(response.status)) return false;
  const hint = hintOf(outcome);
  return hint === undefined || hint <= maxRetryAfterMs;
}

/**
 * `httpRetryOn` for a client's own pipeline: its calls say whether they may be repeated through the
 * `idempotent` option of `execute`, so the classifier need not look the call up in the context.
 */
export function clientRetryOn(maxRetryAfterMs: number): (outcome: Outcome) => boolean {
  return (outcome) => isRetryableOutcome(outcome, maxRetryAfterMs);
}

/** The client's default `retry.retryAfter`: a response's valid `Retry-After`, in ms, used instead of the backoff. */
export function httpRetryAfter(outcome: Outcome): number | undefined {
  return hintOf(outcome);
}

/**
 * The client's default `circuitBreaker.failureOn`: every error (local rejections never reach it), and
 * responses 5xx, 408 and 429. Any other 4xx is the caller's mistake, not the dependency failing.
 */
export function httpFailureOn(outcome: Outcome): boolean {
  if (!outcome.ok) return true;
  return isHttpResponse(outcome.result) && isFailureStatus(outcome.result.status);
}
