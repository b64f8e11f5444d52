import type { IncomingHttpHeaders } from 'node:http';
import { type HttpResponse, type StatusClass, statusClass } from './response.js';

const kHttpError = Symbol.for('keel.http.error');
// Enough of an error page to say what went wrong, never enough to hold a large body in memory.
const BODY_LIMIT = 8 * 1024;

/** A non-2xx final response, thrown when `throwOnError` is set. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  readonly code = 'KEEL_ERR_HTTP_STATUS';
  readonly status: number;
  readonly statusClass: StatusClass;
  readonly headers: IncomingHttpHeaders;
  /** The first 8 KiB of the response body as text (the rest is discarded). */
  readonly body: string;
  /** The name of the client that made the call. */
  readonly client: string;
  readonly [kHttpError] = true;

  constructor(client: string, method: string, status: number, headers: IncomingHttpHeaders, body: string) {
    super(`client "${client}": ${method} answered ${status}`);
    this.client = client;
    this.status = status;
    this.statusClass = statusClass(status);
    this.headers = headers;
    this.body = body;
  }
}

/** True for an {@link HttpStatusError} from any installed copy of this package. */
export function isHttpStatusError(error: unknown): error is HttpStatusError {
  return (
    typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[kHttpError] === true
  );
}

const kFailedResponse = Symbol('keel.http.failedResponse');

/**
 * The rejection of an attempt whose response the client classifies as a failure ({@link isFailureStatus}):
 * the pipeline then counts it as one everywhere (breaker, events, attempt metrics, retries, fallback). Its
 * `body` is empty; the response rides along so the call can still resolve with it once the pipeline is done.
 */
export function failedResponse(client: string, method: string, response: HttpResponse): HttpStatusError {
  const error = new HttpStatusError(client, method, response.status, response.headers, '');
  Object.defineProperty(error, kFailedResponse, { value: response });
  return error;
}

/** The response a {@link failedResponse} carries, or undefined for any other error. */
export function responseOf(error: unknown): HttpResponse | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  return (error as { [kFailedResponse]?: HttpResponse })[kFailedResponse];
}

/** Reads up to 8 KiB of the body as text and discards the rest. */
export async function statusError(
  client: string,
  method: string,
  res: HttpResponse,
): Promise<HttpStatusError> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      const buffer = chunk as Buffer;
      chunks.push(buffer);
      size += buffer.length;
      if (size >= BODY_LIMIT) break;
    }
  } catch {
    // The status is the error; a body that fails to arrive only costs its text.
  }
  if (!res.body.destroyed) res.body.destroy();
  const text = Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8');
  return new HttpStatusError(client, method, res.status, res.headers, text);
}
