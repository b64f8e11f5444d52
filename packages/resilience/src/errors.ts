/** Stable codes of the outcomes a pipeline produces itself. */
export type KeelErrorCode =
  | 'KEEL_ERR_TIMEOUT'
  | 'KEEL_ERR_CANCELLED'
  | 'KEEL_ERR_CIRCUIT_OPEN'
  | 'KEEL_ERR_BULKHEAD_FULL'
  | 'KEEL_ERR_RATE_LIMITED';

// Symbol.for, so an error thrown by one installed copy of the package is recognised by another.
const kKeelError = Symbol.for('keel.resilience.error');

/** Base class of every rejection a Keel pipeline produces itself; branch on `code`. */
export abstract class KeelError extends Error {
  abstract readonly code: KeelErrorCode;
  /** Name of the pipeline that rejected the call, when known. */
  readonly pipeline: string | undefined;
  readonly [kKeelError] = true;

  constructor(message: string, pipeline: string | undefined, options?: ErrorOptions) {
    super(pipeline === undefined ? message : `pipeline "${pipeline}": ${message}`, options);
    this.pipeline = pipeline;
  }
}

/** An attempt, the whole call or the inherited deadline ran out of time. */
export class TimeoutError extends KeelError {
  override readonly name = 'TimeoutError';
  readonly code = 'KEEL_ERR_TIMEOUT';
  /** The time budget that ran out, in milliseconds. */
  readonly timeoutMs: number;
  /** Which bound ran out: one attempt, the whole call, or a deadline inherited from the caller. */
  readonly scope: 'attempt' | 'total' | 'deadline';

  constructor(timeoutMs: number, scope: TimeoutError['scope'], pipeline?: string) {
    const what =
      scope === 'deadline' ? 'deadline exceeded' : `${scope === 'total' ? 'call' : 'attempt'} timed out`;
    super(`${what} after ${Math.round(timeoutMs)} ms`, pipeline);
    this.timeoutMs = timeoutMs;
    this.scope = scope;
  }
}

/** The caller aborted (its `AbortSignal` fired) or the pipeline was disposed. */
export class CancelledError extends KeelError {
  override readonly name = 'CancelledError';
  readonly code = 'KEEL_ERR_CANCELLED';

  constructor(message: string, pipeline?: string, cause?: unknown) {
    super(message, pipeline, cause === undefined ? undefined : { cause });
  }
}

/** The circuit breaker refused the call; `retryAfterMs` says when it will admit calls again, if known. */
export class CircuitOpenError extends KeelError {
  override readonly name = 'CircuitOpenError';
  readonly code = 'KEEL_ERR_CIRCUIT_OPEN';
  readonly retryAfterMs: number | undefined;
  readonly state: 'open' | 'half-open' | 'isolated';

  constructor(state: CircuitOpenError['state'], retryAfterMs: number | undefined, pipeline?: string) {
    super(
      state === 'isolated'
        ? 'circuit isolated'
        : `circuit ${state}${retryAfterMs === undefined ? '' : `, retry after ${retryAfterMs} ms`}`,
      pipeline,
    );
    this.state = state;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The bulkhead had no free slot and no room in its queue. */
export class BulkheadFullError extends KeelError {
  override readonly name = 'BulkheadFullError';
  readonly code = 'KEEL_ERR_BULKHEAD_FULL';
  readonly maxConcurrent: number;
  readonly maxQueue: number;

  constructor(maxConcurrent: number, maxQueue: number, pipeline?: string) {
    super(`bulkhead full (${maxConcurrent} running, ${maxQueue} queued)`, pipeline);
    this.maxConcurrent = maxConcurrent;
    this.maxQueue = maxQueue;
  }
}

/** The rate limiter had no token; `retryAfterMs` is when the next one is due. */
export class RateLimitedError extends KeelError {
  override readonly name = 'RateLimitedError';
  readonly code = 'KEEL_ERR_RATE_LIMITED';
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, pipeline?: string) {
    super(`rate limited, retry after ${retryAfterMs} ms`, pipeline);
    this.retryAfterMs = retryAfterMs;
  }
}

/** True for any rejection produced by a Keel pipeline, from any installed copy of this package. */
export function isKeelError(error: unknown): error is KeelError {
  return (
    typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[kKeelError] === true
  );
}

const hasCode = (error: unknown, code: KeelErrorCode): boolean => isKeelError(error) && error.code === code;

/** True when the call ran out of time (`KEEL_ERR_TIMEOUT`). */
export const isTimeoutError = (error: unknown): error is TimeoutError => hasCode(error, 'KEEL_ERR_TIMEOUT');
/** True when the caller aborted (`KEEL_ERR_CANCELLED`). */
export const isCancelledError = (error: unknown): error is CancelledError =>
  hasCode(error, 'KEEL_ERR_CANCELLED');
/** True when the circuit refused the call (`KEEL_ERR_CIRCUIT_OPEN`). */
export const isCircuitOpenError = (error: unknown): error is CircuitOpenError =>
  hasCode(error, 'KEEL_ERR_CIRCUIT_OPEN');
/** True when the bulkhead was full (`KEEL_ERR_BULKHEAD_FULL`). */
export const isBulkheadFullError = (error: unknown): error is BulkheadFullError =>
  hasCode(error, 'KEEL_ERR_BULKHEAD_FULL');
/** True when the rate limiter refused the call (`KEEL_ERR_RATE_LIMITED`). */
export const isRateLimitedError = (error: unknown): error is RateLimitedError =>
  hasCode(error, 'KEEL_ERR_RATE_LIMITED');

/** Rejections made locally (circuit, bulkhead, rate limit, cancellation): never a failure of the dependency. */
export function isLocalRejection(error: unknown): boolean {
  if (!isKeelError(error)) return false;
  return error.code !== 'KEEL_ERR_TIMEOUT';
}
