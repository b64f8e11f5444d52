import '@keel/resilience/node-check';

export {
  DEFAULT_MAX_PUSHBACK_MS,
  FAILURE_STATUSES,
  grpcFailureOn,
  grpcRetryAfter,
  grpcRetryOn,
} from './classify.js';
export { type KeelClientInterceptor, keelClientInterceptor } from './client-interceptor.js';
export type { KeelClientInterceptorOptions } from './client-options.js';
export { type DrainableGrpcServer, drainableGrpcServer } from './drainable.js';
export {
  addKeelHealth,
  type HealthReadiness,
  HealthService,
  type KeelHealthOptions,
  type ServingStatus,
} from './health.js';
export { PREVIOUS_ATTEMPTS_HEADER } from './internal/unary-call.js';
export { keelService } from './keel-service.js';
export { metadataGetter, metadataSetter } from './metadata-carrier.js';
export { type KeelServerInterceptorOptions, keelServerInterceptor } from './server-interceptor.js';
export {
  type GrpcStatus,
  GrpcStatusError,
  isGrpcStatusError,
  PUSHBACK_HEADER,
  pushbackOf,
  toGrpcStatus,
  UNKNOWN_DETAILS,
} from './status.js';
