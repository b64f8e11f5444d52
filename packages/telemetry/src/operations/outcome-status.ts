import { isKeelError, type KeelErrorCode } from '@keel/resilience';

/** What a server answers for a Keel outcome: the status code and, when the caller may try later, when. */
export interface OutcomeStatus {
  /** HTTP status code. 499 (client closed request) is for logs and metrics: nobody is left to read it. */
  readonly httpStatus: number;
  /** gRPC status name (`DEADLINE_EXCEEDED`, …), for `rpc.status_code` and the gRPC adapters. */
  readonly grpcStatus: GrpcStatusName;
  /** Whole seconds for a `Retry-After` header (or `grpc-retry-pushback-ms` ÷ 1000); undefined when none applies. */
  readonly retryAfterSeconds: number | undefined;
}

/** The gRPC status names Keel outcomes map to. */
export type GrpcStatusName = 'DEADLINE_EXCEEDED' | 'CANCELLED' | 'UNAVAILABLE' | 'RESOURCE_EXHAUSTED';

/**
 * The one table from Keel outcomes to transport status, so every adapter answers the same way:
 * a timeout is the dependency being slow (504), an open circuit or a full bulkhead is this service
 * shedding load (503), a rate limit is the caller sending too much (429), a cancellation is the caller
 * having gone away (499).
 */
export const OUTCOME_STATUS: Readonly<Record<KeelErrorCode, Omit<OutcomeStatus, 'retryAfterSeconds'>>> = {
  KEEL_ERR_TIMEOUT: { httpStatus: 504, grpcStatus: 'DEADLINE_EXCEEDED' },
  KEEL_ERR_CANCELLED: { httpStatus: 499, grpcStatus: 'CANCELLED' },
  KEEL_ERR_CIRCUIT_OPEN: { httpStatus: 503, grpcStatus: 'UNAVAILABLE' },
  KEEL_ERR_BULKHEAD_FULL: { httpStatus: 503, grpcStatus: 'RESOURCE_EXHAUSTED' },
  KEEL_ERR_RATE_LIMITED: { httpStatus: 429, grpcStatus: 'RESOURCE_EXHAUSTED' },
};

/**
 * The status for a Keel outcome, or undefined for any other error (which the adapter leaves to the
 * application). A bulkhead knows no retry time, so it suggests one second.
 */
export function outcomeStatus(error: unknown): OutcomeStatus | undefined {
  if (!isKeelError(error)) return undefined;
  const row = OUTCOME_STATUS[error.code];
  if (row === undefined) return undefined;
  let retryAfterMs: number | undefined;
  if (error.code === 'KEEL_ERR_BULKHEAD_FULL') retryAfterMs = 1_000;
  else if (error.code === 'KEEL_ERR_CIRCUIT_OPEN' || error.code === 'KEEL_ERR_RATE_LIMITED') {
    retryAfterMs = (error as { retryAfterMs?: number }).retryAfterMs;
  }
  return {
    ...row,
    retryAfterSeconds:
      retryAfterMs === undefined || !Number.isFinite(retryAfterMs)
        ? undefined
        : Math.max(1, Math.ceil(retryAfterMs / 1000)),
  };
}
