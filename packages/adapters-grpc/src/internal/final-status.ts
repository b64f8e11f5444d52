import { Metadata, type StatusObject, status } from '@grpc/grpc-js';
import { errorMessage, outcomeStatus } from '@keel/telemetry/adapter';
import { isGrpcStatusError } from '../status.js';

/** The status a client call ends with for the error its pipeline rejected with. */
export function finalStatus(error: unknown): StatusObject {
  if (isGrpcStatusError(error)) return { code: error.code, details: error.details, metadata: error.metadata };
  const outcome = outcomeStatus(error);
  if (outcome !== undefined) {
    // A local decision (open circuit, timeout, full bulkhead): its message is the caller's to read.
    return { code: status[outcome.grpcStatus], details: errorMessage(error), metadata: new Metadata() };
  }
  return { code: status.INTERNAL, details: errorMessage(error), metadata: new Metadata() };
}
