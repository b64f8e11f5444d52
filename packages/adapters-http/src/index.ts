import '@keel/resilience/node-check';

export {
  httpFailureOn,
  httpRetryAfter,
  httpRetryOn,
  IDEMPOTENT_METHODS,
  isTransientError,
  TRANSIENT_ERROR_CODES,
  TRANSIENT_STATUSES,
} from './classify.js';
export type { HttpClientOptions, HttpFallback } from './client-options.js';
export { HttpStatusError, isHttpStatusError } from './errors.js';
export { type HttpClient, httpClient } from './http-client.js';
export { type HeaderCarrier, type InjectHeadersOptions, injectHeaders } from './inject-headers.js';
export type { HeadersInit } from './internal/headers.js';
export { type KeelHandlerOptions, keelHandler, type RequestHandler } from './keel-handler.js';
export type { HttpRequestOptions, QueryParams, QueryValue, RequestBody } from './request-options.js';
export type { HttpResponse, ResponseBody, StatusClass } from './response.js';
export { statusClass } from './response.js';
export { parseRetryAfter } from './retry-after.js';
