/**
 * Error codes of a connection that could not be made or broke before an answer came: Node's system errors
 * and undici's. An error carrying one (itself, through `cause`, or inside an `AggregateError`, as Node's
 * connection attempts to several addresses throw) is a downstream that could not be reached.
 */
export const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
]);

// A downstream answer thrown as an error (`HttpStatusError` of @keel/http, `throwOnError`): matched by its
// stable code and status, so telemetry needs no dependency on the client.
const STATUS_ERROR_CODE = 'KEEL_ERR_HTTP_STATUS';

/** Whether `error`, or what it wraps (to `depth` 3), carries a connection failure code. */
export function isConnectionFailure(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_ERROR_CODES.has(code)) return true;
  if (depth >= 3) return false;
  if (error instanceof AggregateError && Array.isArray(error.errors)) {
    return error.errors.some((inner) => isConnectionFailure(inner, depth + 1));
  }
  return isConnectionFailure((error as { cause?: unknown }).cause, depth + 1);
}

/**
 * Whether `error` is a downstream this service depends on failing: one that could not be reached (a
 * connection failure) or answered a failure status (5xx, 408 or 429) that a client threw after its
 * retries. The inbound request that depended on it is answered 502 (gRPC `UNAVAILABLE`).
 */
export function isDownstreamFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, status } = error as { code?: unknown; status?: unknown };
  if (code === STATUS_ERROR_CODE && typeof status === 'number') {
    return status >= 500 || status === 408 || status === 429;
  }
  return isConnectionFailure(error);
}
