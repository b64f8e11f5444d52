import '@keel/resilience/node-check';

export { type KeelErrorHandlerOptions, keelErrorHandler } from './error-handler.js';
export { type KeelOptions, keel } from './keel.js';
export { liveness } from './liveness.js';
export { metricsRoute } from './metrics-route.js';
export { type RateLimitOptions, rateLimit } from './rate-limit.js';
export { readinessRoute } from './readiness-route.js';
export { requestSignal } from './request-signal.js';
