import { Readable } from 'node:stream';
import {
  checkBoolean,
  checkKeys,
  checkNumber,
  invalidOption,
  isPlainObject,
  MAX_MS,
  optionConflict,
} from '@keel/resilience/adapter';
import type { HttpClientStart } from '@keel/telemetry/adapter';
import { IDEMPOTENT_METHODS } from './classify.js';
import type { OriginParts, ResolvedClientOptions } from './client-options.js';
import { type HeaderRecord, type HeadersInit, mergeHeaders } from './internal/headers.js';

/** A query parameter value; arrays repeat the parameter. */
export type QueryValue = string | number | boolean;

/** Query parameters appended to the path (`undefined` values are skipped). */
export type QueryParams =
  | URLSearchParams
  | Readonly<Record<string, QueryValue | readonly QueryValue[] | undefined>>;

/** A request body undici can send; a stream can be sent once only, so a call with one is never retried. */
export type RequestBody = string | Uint8Array | Readable;

/** Options of one call. */
export interface HttpRequestOptions {
  /** Headers of this call; they win over the client's. */
  headers?: HeadersInit;
  /** Query parameters, appended to the path. */
  query?: QueryParams;
  /** A value sent as JSON (`content-type: application/json` unless you set one). Not with `body`. */
  json?: unknown;
  /** The raw body. Not with `json`. */
  body?: RequestBody;
  /** Cancels the call: it rejects with `CancelledError` (`KEEL_ERR_CANCELLED`). */
  signal?: AbortSignal;
  /** Sent as `idempotency-key`; makes a non-idempotent call (POST, PATCH) safe to retry. */
  idempotencyKey?: string;
  /** A deadline for this call in ms, retries included; it can only shorten the inherited one. */
  timeout?: number;
  /** Overrides the client's `throwOnError` for this call. */
  throwOnError?: boolean;
}

/** One call, resolved and validated before its first attempt. */
export interface PreparedRequest {
  readonly method: string;
  readonly origin: string;
  readonly path: string;
  /** Where the call goes, as the client span and the egress allow-list read it. */
  readonly url: HttpClientStart<unknown>['url'];
  /** The headers every attempt starts from; shared with the client when the call adds none, so never written to. */
  readonly headers: Readonly<HeaderRecord>;
  readonly body: string | Uint8Array | Readable | null;
  readonly replayable: boolean;
  readonly signal: AbortSignal | undefined;
  readonly timeout: number | undefined;
  readonly throwOnError: boolean;
}

const KNOWN = new Set([
  'headers',
  'query',
  'json',
  'body',
  'signal',
  'idempotencyKey',
  'timeout',
  'throwOnError',
]);
const NO_OPTIONS: HttpRequestOptions = Object.freeze({});
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}$/;
const NORMALIZED = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH']);
const ABSOLUTE = /^https?:\/\//i;

function appendQuery(owner: string, path: string, query: unknown): string {
  if (query === undefined) return path;
  let search: URLSearchParams;
  if (query instanceof URLSearchParams) search = query;
  else if (isPlainObject(query)) {
    search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) {
        if (typeof item !== 'string' && typeof item !== 'number' && typeof item !== 'boolean') {
          invalidOption(owner, `query.${key}`, 'a string, number, boolean or an array of them', item);
        }
        search.append(key, String(item));
      }
    }
  } else return invalidOption(owner, 'query', 'a URLSearchParams or an object of values', query);
  const text = search.toString();
  if (text === '') return path;
  return `${path}${path.includes('?') ? '&' : '?'}${text}`;
}

/** Where one call goes: the origin, the path as sent, and the URL (or its parts) the span reads. */
interface Target {
  readonly origin: string;
  readonly path: string;
  /** The parsed URL of an absolute target; undefined for a path under `baseUrl`. */
  readonly url: URL | undefined;
}

// A path the WHATWG parser would leave as it is: no dot segment (plain or percent-encoded), backslash,
// fragment, space or other character it would encode. Anything else is parsed, so the span sees what a URL would.
const PLAIN_PATH = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const DOT_SEGMENT = /\/(?:\.|%2e)/i;

/** The URL parts of a path under the client's `baseUrl`, without parsing a URL when the path is plain. */
function urlUnder(parts: OriginParts, origin: string, fullPath: string): HttpClientStart<unknown>['url'] {
  const query = fullPath.indexOf('?');
  const pathname = query === -1 ? fullPath : fullPath.slice(0, query);
  if (!PLAIN_PATH.test(pathname) || DOT_SEGMENT.test(pathname)) return new URL(`${origin}${fullPath}`);
  return { origin, protocol: parts.protocol, hostname: parts.hostname, port: parts.port, pathname };
}

function target(client: ResolvedClientOptions, owner: string, to: unknown): Target {
  const value = to instanceof URL ? to.href : to;
  if (typeof value !== 'string') return invalidOption(owner, 'url', 'a path or an http(s) URL', value);
  if (ABSOLUTE.test(value)) {
    if (!URL.canParse(value)) return invalidOption(owner, 'url', 'a valid http(s) URL', value);
    const url = new URL(value);
    if (client.origin !== undefined && url.origin !== client.origin) {
      return invalidOption(owner, 'url', `a path or a URL on ${client.origin} (the client's baseUrl)`, value);
    }
    return { origin: url.origin, path: `${url.pathname}${url.search}`, url };
  }
  if (client.origin === undefined) {
    return invalidOption(owner, 'url', 'an absolute http(s) URL (the client has no baseUrl)', value);
  }
  return {
    origin: client.origin,
    path: `${client.prefix}${value.startsWith('/') ? '' : '/'}${value}`,
    url: undefined,
  };
}

/** Validates a call and builds what every attempt of it sends; throws a TypeError naming the option. */
export function prepareRequest(
  client: ResolvedClientOptions,
  rawMethod: unknown,
  to: unknown,
  options: HttpRequestOptions | undefined,
): PreparedRequest {
  const owner = client.owner;
  let method: string;
  // The client's own shorthands pass a normalised method: no pattern to test, no case to fold.
  if (typeof rawMethod === 'string' && NORMALIZED.has(rawMethod)) method = rawMethod;
  else {
    if (typeof rawMethod !== 'string' || !METHOD.test(rawMethod))
      invalidOption(owner, 'method', 'an HTTP method', rawMethod);
    const upper = rawMethod.toUpperCase();
    method = NORMALIZED.has(upper) ? upper : rawMethod;
  }
  const o = options ?? NO_OPTIONS;
  if (o !== NO_OPTIONS) {
    if (!isPlainObject(o)) invalidOption(owner, 'options', 'an options object', o);
    checkKeys(owner, '', o, KNOWN);
  }
  const { origin, path, url } = target(client, owner, to);
  const fullPath = appendQuery(owner, path, o.query);
  // The client's headers as they are unless this call adds to them: every attempt copies them before injecting.
  const headers =
    o.headers === undefined && o.idempotencyKey === undefined && o.json === undefined
      ? client.headers
      : mergeHeaders(owner, 'headers', { ...client.headers }, o.headers);
  if (o.idempotencyKey !== undefined) {
    if (typeof o.idempotencyKey !== 'string' || o.idempotencyKey.length === 0) {
      invalidOption(owner, 'idempotencyKey', 'a non-empty string', o.idempotencyKey);
    }
    headers['idempotency-key'] = o.idempotencyKey;
  }
  let body: string | Uint8Array | Readable | null = null;
  if (o.json !== undefined && o.body !== undefined) {
    optionConflict(owner, 'json', 'body', 'send one of them');
  }
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers['content-type'] ??= 'application/json';
  } else if (o.body !== undefined) {
    if (typeof o.body !== 'string' && !(o.body instanceof Uint8Array) && !(o.body instanceof Readable)) {
      invalidOption(owner, 'body', 'a string, a Uint8Array or a Readable', o.body);
    }
    body = o.body;
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal))
    invalidOption(owner, 'signal', 'an AbortSignal', o.signal);
  const timeout = o.timeout === undefined ? undefined : checkNumber(owner, 'timeout', o.timeout, 0, MAX_MS);
  const safe = IDEMPOTENT_METHODS.has(method) || headers['idempotency-key'] !== undefined;
  return {
    method,
    origin,
    path: fullPath,
    // Concatenated, not resolved: a path such as //other.host must not change the host the span and the allow-list see.
    // An absolute target was parsed already; a query appended to it leaves its pathname as it is.
    url: url ?? urlUnder(client.originParts as OriginParts, origin, fullPath),
    headers,
    body,
    replayable: safe && !(body instanceof Readable),
    signal: o.signal,
    timeout,
    throwOnError: checkBoolean(owner, 'throwOnError', o.throwOnError, client.throwOnError),
  };
}
