import { status } from '@grpc/grpc-js';
import { isKeelError, type Outcome } from '@keel/resilience';
import { isGrpcStatusError, pushbackOf } from './status.js';

/** Statuses that mean the dependency failed, for the breaker; the others are the caller's doing. */
export const FAILURE_STATUSES: ReadonlySet<status> = new Set([
  status.UNKNOWN,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.INTERNAL,
  status.UNAVAILABLE,
  status.DATA_LOSS,
]);

/** The longest `grpc-retry-pushback-ms` waited for by default; a longer one ends the call. */
export const DEFAULT_MAX_PUSHBACK_MS = 30_000;

/**
 * Whether an attempt's outcome is worth another attempt: UNAVAILABLE (unless the server pushed back with
 * "do not retry" or longer than `maxPushbackMs`), RESOURCE_EXHAUSTED only when the server gave a pushback
 * hint within `maxPushbackMs`, and Keel's own attempt timeout. The pipeline adds the rest: idempotency,
 * attempt limit, budget and deadline.
 */
export function grpcRetryOn(outcome: Outcome, maxPushbackMs = DEFAULT_MAX_PUSHBACK_MS): boolean {
  if (outcome.ok) return false;
  const error = outcome.error;
  if (isKeelError(error)) return error.code === 'KEEL_ERR_TIMEOUT';
  if (!isGrpcStatusError(error)) return false;
  const pushback = pushbackOf(error.metadata);
  if (pushback === 'stop' || (pushback !== undefined && pushback > maxPushbackMs)) return false;
  if (error.code === status.UNAVAILABLE) return true;
  return error.code === status.RESOURCE_EXHAUSTED && pushback !== undefined;
}

/** The server's `grpc-retry-pushback-ms`, used instead of the backoff before the next attempt. */
export function grpcRetryAfter(outcome: Outcome): number | undefined {
  if (outcome.ok || !isGrpcStatusError(outcome.error)) return undefined;
  const pushback = pushbackOf(outcome.error.metadata);
  return typeof pushback === 'number' ? pushback : undefined;
}

/** Whether an outcome counts against the dependency in the breaker: failure statuses and transport errors. */
export function grpcFailureOn(outcome: Outcome): boolean {
  if (outcome.ok) return false;
  const error = outcome.error;
  return isGrpcStatusError(error) ? FAILURE_STATUSES.has(error.code) : true;
}
