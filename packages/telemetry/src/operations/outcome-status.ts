import { isKeelError, type KeelErrorCode } from '@keel/resilience';
import { isDownstreamFailure } from './downstream-failure.js';

/**
 * The codes of the outcomes every adapter answers the same way: the rejections a Keel pipeline makes
 * itself, and a downstream that could not be reached or kept failing (`KEEL_ERR_DOWNSTREAM_FAILED`).
 */
export type OutcomeCode = KeelErrorCode | 'KEEL_ERR_DOWNSTREAM_FAILED';

/** The gRPC status names Keel outcomes map to. */
export type GrpcStatusName = 'DEADLINE_EXCEEDED' | 'CANCELLED' | 'UNAVAILABLE' | 'RESOURCE_EXHAUSTED';

/** One row of the outcome table: what every transport answers for an outcome. */
export interface OutcomeRow {
  /** HTTP status code. 499 (client closed request) is for logs and metrics: nobody is left to read it. */
  readonly httpStatus: number;
  /** gRPC status name (`DEADLINE_EXCEEDED`, …), for `rpc.status_code` and the gRPC adapters. */
  readonly grpcStatus: GrpcStatusName;
  /**
   * The fixed message a response carries. Never the error's own text: that can name pipelines, hosts or a
   * peer's reply, which callers should not see.
   */
  readonly message: string;
}

/** What a server answers for one Keel outcome. */
export interface OutcomeStatus extends OutcomeRow {
  readonly code: OutcomeCode;
  /** Whole seconds for a `Retry-After` header (or `grpc-retry-pushback-ms` ÷ 1000); undefined when none applies. */
  readonly retryAfterSeconds: number | undefined;
}

/**
 * The one table from Keel outcomes to transport status, so every adapter answers the same way:
 * a timeout is the dependency being slow (504), an open circuit or a full bulkhead is this service
 * shedding load (503), a rate limit is the caller sending too much (429), a cancellation is the caller
 * having gone away (499), and a dependency that could not be reached or kept failing after its retries is
 * a bad gateway (502).
 */
export const OUTCOME_STATUS: Readonly<Record<OutcomeCode, OutcomeRow>> = {
  KEEL_ERR_TIMEOUT: {
    httpStatus: 504,
    grpcStatus: 'DEADLINE_EXCEEDED',
    message: 'The request ran out of time.',
  },
  KEEL_ERR_CANCELLED: { httpStatus: 499, grpcStatus: 'CANCELLED', message: 'The request was cancelled.' },
  KEEL_ERR_CIRCUIT_OPEN: {
    httpStatus: 503,
    grpcStatus: 'UNAVAILABLE',
    message: 'A dependency is unavailable; retry later.',
  },
  KEEL_ERR_BULKHEAD_FULL: {
    httpStatus: 503,
    grpcStatus: 'RESOURCE_EXHAUSTED',
    message: 'The service is at capacity; retry later.',
  },
  KEEL_ERR_RATE_LIMITED: {
    httpStatus: 429,
    grpcStatus: 'RESOURCE_EXHAUSTED',
    message: 'Too many requests; retry later.',
  },
  KEEL_ERR_DOWNSTREAM_FAILED: {
    httpStatus: 502,
    grpcStatus: 'UNAVAILABLE',
    message: 'A dependency could not be reached or kept failing.',
  },
};

/**
 * The status for a Keel outcome, or undefined for any other error (which the adapter leaves to the
 * application). A bulkhead knows no retry time, so it suggests one second.
 */
export function outcomeStatus(error: unknown): OutcomeStatus | undefined {
  let code: OutcomeCode;
  if (isKeelError(error)) code = error.code;
  else if (isDownstreamFailure(error)) code = 'KEEL_ERR_DOWNSTREAM_FAILED';
  else return undefined;
  const row = OUTCOME_STATUS[code];
  if (row === undefined) return undefined;
  let retryAfterMs: number | undefined;
  if (code === 'KEEL_ERR_BULKHEAD_FULL') retryAfterMs = 1_000;
  else if (code === 'KEEL_ERR_CIRCUIT_OPEN' || code === 'KEEL_ERR_RATE_LIMITED') {
    retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
  }
  return {
    code,
    ...row,
    retryAfterSeconds:
      retryAfterMs === undefined || !Number.isFinite(retryAfterMs)
        ? undefined
        : Math.max(1, Math.ceil(retryAfterMs / 1000)),
  };
}
