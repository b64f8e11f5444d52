import { Metadata, type StatusObject, status } from '@grpc/grpc-js';
import { outcomeStatus } from '@keel/telemetry/adapter';

/** Trailer by which a server tells a client when to retry (gRPC A6), in milliseconds. */
export const PUSHBACK_HEADER = 'grpc-retry-pushback-ms';

/** Details sent in place of the message of an error that carried no gRPC status of its own. */
export const UNKNOWN_DETAILS = 'Unknown error';

/** A gRPC status to answer with: what grpc-js's `callback(error)` and `call.emit('error', …)` accept. */
export interface GrpcStatus {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;
}

function hasGrpcCode(error: unknown): error is { code: number; details?: unknown; metadata?: unknown } {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' && Number.isInteger(code) && code >= 0 && code <= 16;
}

/**
 * The status a server answers for `error`: a Keel outcome through the core's outcome table (timeout →
 * DEADLINE_EXCEEDED, open circuit or a downstream that failed → UNAVAILABLE, full bulkhead or rate limit →
 * RESOURCE_EXHAUSTED with `grpc-retry-pushback-ms`, cancellation → CANCELLED), with the table's fixed
 * message as `details`; an error carrying a gRPC status keeps it; anything else is UNKNOWN with fixed
 * details, so no internal message reaches the caller.
 *
 * @example
 * callback(toGrpcStatus(error));
 */
export function toGrpcStatus(error: unknown): GrpcStatus {
  const outcome = outcomeStatus(error);
  if (outcome !== undefined) {
    const metadata = new Metadata();
    if (outcome.retryAfterSeconds !== undefined && outcome.grpcStatus !== 'CANCELLED') {
      metadata.set(PUSHBACK_HEADER, String(outcome.retryAfterSeconds * 1000));
    }
    return {
      code: status[outcome.grpcStatus],
      details: outcome.message,
      metadata,
    };
  }
  if (hasGrpcCode(error)) {
    const details =
      typeof error.details === 'string'
        ? error.details
        : error instanceof Error && error.code !== status.UNKNOWN
          ? error.message
          : '';
    const metadata = error.metadata instanceof Metadata ? error.metadata : new Metadata();
    return {
      code: error.code,
      details: error.code === status.UNKNOWN ? UNKNOWN_DETAILS : details,
      metadata,
    };
  }
  return { code: status.UNKNOWN, details: UNKNOWN_DETAILS, metadata: new Metadata() };
}

/**
 * A non-OK status a client attempt received, as the error the pipeline sees: `code` is the numeric status
 * (as on grpc-js's `ServiceError`), `metadata` the trailers.
 */
export class GrpcStatusError extends Error {
  override readonly name = 'GrpcStatusError';
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;

  constructor(received: StatusObject) {
    super(`${received.code} ${status[received.code] ?? 'UNKNOWN'}: ${received.details}`);
    this.code = received.code;
    this.details = received.details;
    this.metadata = received.metadata;
  }
}

/** Whether `error` is a {@link GrpcStatusError} (by shape, so two installed copies still match). */
export function isGrpcStatusError(error: unknown): error is GrpcStatusError {
  return (
    error instanceof Error &&
    error.name === 'GrpcStatusError' &&
    hasGrpcCode(error) &&
    (error as { metadata?: unknown }).metadata instanceof Metadata
  );
}

const PUSHBACK = /^[0-9]{1,9}$/;

/**
 * A server's `grpc-retry-pushback-ms` in trailers: the milliseconds to wait, `'stop'` when the server says
 * not to retry (a negative or malformed value, as gRPC A6 specifies), or undefined when absent.
 */
export function pushbackOf(trailers: Metadata): number | 'stop' | undefined {
  const values = trailers.get(PUSHBACK_HEADER);
  if (values.length === 0) return undefined;
  const value = values[0];
  if (typeof value !== 'string' || !PUSHBACK.test(value)) return 'stop';
  return Number(value);
}
