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

// A class, so a response costs one object: its methods and brand live on the prototype.
class UndiciResponse implements HttpResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly statusClass: StatusClass;
  readonly headers: IncomingHttpHeaders;
  readonly attempt: number;
  readonly body: ResponseBody;

  constructor(data: Dispatcher.ResponseData, attempt: number) {
    const status = data.statusCode;
    this.status = status;
    this.ok = status >= 200 && status < 300;
    this.statusClass = statusClass(status);
    this.headers = data.headers;
    this.attempt = attempt;
    this.body = data.body;
  }

  json<T = unknown>(): Promise<T> {
    return this.body.json() as Promise<T>;
  }

  text(): Promise<string> {
    return this.body.text();
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.body.arrayBuffer();
  }

  dump(): Promise<void> {
    return drain(this.body);
  }
}
Object.defineProperty(UndiciResponse.prototype, kResponse, { value: true });

/** Wraps what undici returned for one attempt. */
export function toResponse(data: Dispatcher.ResponseData, attempt: number): HttpResponse {
  return new UndiciResponse(data, attempt);
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
