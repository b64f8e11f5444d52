import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

/** The class of a status code, for branching without magic numbers. */
export type StatusClass = 'informational' | 'success' | 'redirection' | 'client-error' | 'server-error';

/** undici's response body: a Node.js `Readable` with `json()`, `text()`, `arrayBuffer()` and `dump()`. */
export type ResponseBody = Dispatcher.ResponseData['body'];

/** The response a call returns. Read or `dump()` its body: an unread body holds its connection. */
export interface HttpResponse {
  /** The status code of the response. */
  readonly status: number;
  /** True for a 2xx status. */
  readonly ok: boolean;
  readonly statusClass: StatusClass;
  /** Response headers, names in lower case (repeated ones as arrays). */
  readonly headers: IncomingHttpHeaders;
  /** The attempt that produced this response, from 1. */
  readonly attempt: number;
  /** The undici body, for streaming. */
  readonly body: ResponseBody;
  /** Reads the body as JSON. */
  json<T = unknown>(): Promise<T>;
  /** Reads the body as UTF-8 text. */
  text(): Promise<string>;
  /** Reads the body as bytes. */
  arrayBuffer(): Promise<ArrayBuffer>;
  /** Discards the body so the connection can be reused (a large body closes the connection instead). */
  dump(): Promise<void>;
}

/** The class of `status`. */
export function statusClass(status: number): StatusClass {
  if (status < 200) return 'informational';
  if (status < 300) return 'success';
  if (status < 400) return 'redirection';
  if (status < 500) return 'client-error';
  return 'server-error';
}

const kResponse = Symbol.for('keel.http.response');

/** Wraps what undici returned for one attempt. */
export function toResponse(data: Dispatcher.ResponseData, attempt: number): HttpResponse {
  const body = data.body;
  const status = data.statusCode;
  return {
    [kResponse]: true,
    status,
    ok: status >= 200 && status < 300,
    statusClass: statusClass(status),
    headers: data.headers,
    attempt,
    body,
    json: () => body.json() as Promise<never>,
    text: () => body.text(),
    arrayBuffer: () => body.arrayBuffer(),
    dump: () => drain(body),
  } as HttpResponse;
}

/** True for a response made by this package (any installed copy). */
export function isHttpResponse(value: unknown): value is HttpResponse {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kResponse] === true
  );
}

/** Dumps a body and never rejects: a body we discard must not fail the call that discards it. */
export function drain(body: ResponseBody): Promise<void> {
  return body.dump().then(
    () => undefined,
    () => undefined,
  );
}
