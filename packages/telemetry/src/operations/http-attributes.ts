import type { Attributes, TextMapGetter } from '@opentelemetry/api';

// The HTTP span attributes of the stable semantic conventions that come from the request itself. They go on
// spans only: every value here is per request (a raw path, an address), so none may become a metric label.

/** The span name for `method` with an optional target: `HTTP` stands in for an unknown method. */
export function httpSpanName(method: string, target?: string): string {
  const verb = method === '_OTHER' ? 'HTTP' : method;
  return target === undefined ? verb : `${verb} ${target}`;
}

// Bounds on what a caller can make a span carry: a path, query or header value longer than this is cut.
const MAX_URL_PART = 2048;
const MAX_HEADER_VALUE = 512;
const MAX_METHOD = 64;

/** Query keys whose values never reach a span (the conventions' list, then credentials Keel redacts in logs). */
export const REDACTED_QUERY_KEYS: ReadonlySet<string> = new Set([
  'awsaccesskeyid',
  'signature',
  'sig',
  'x-goog-signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'x-api-key',
  'key',
  'password',
  'passwd',
  'secret',
  'client_secret',
  'code',
  'authorization',
  'session',
  'sessionid',
]);

/** What replaces a redacted query value (the conventions' word). */
export const REDACTED = 'REDACTED';

function cut(value: string, max: number): string {
  return value.length > max ? value.slice(0, max) : value;
}

function lowerKey(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return raw.toLowerCase();
  }
}

/** `query` (without `?`) with the value of every sensitive key replaced by `REDACTED`, keys kept. */
export function redactQuery(query: string): string {
  const bounded = cut(query, MAX_URL_PART);
  let out = '';
  for (const pair of bounded.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq);
    const kept = eq !== -1 && REDACTED_QUERY_KEYS.has(lowerKey(key)) ? `${key}=${REDACTED}` : pair;
    out += out === '' ? kept : `&${kept}`;
  }
  // Cut before redacting too, so a value cut short is still recognised by its key.
  return cut(out, MAX_URL_PART);
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

// `host` or `[v6]` with an optional `:port`: the grammar of a Host header, checked before it is split.
const HOST = /^(?:[A-Za-z0-9._~-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/;

/** The name and port of an authority (`Host`, `:authority`), or undefined when it is not one. */
export function parseAuthority(value: string | undefined): { address: string; port?: number } | undefined {
  if (value === undefined || value.length > 260) return undefined;
  const match = HOST.exec(value);
  if (match === null) return undefined;
  const portText = match[1];
  const address = portText === undefined ? value : value.slice(0, -(portText.length + 1));
  if (portText === undefined) return { address };
  const port = Number(portText);
  return port >= 1 && port <= 65535 ? { address, port } : undefined;
}

/** What an inbound HTTP adapter knows of the request itself, for the span's attributes. */
export interface HttpRequestFacts<C> {
  readonly carrier: C;
  readonly getter: TextMapGetter<C>;
  readonly method: string | undefined;
  readonly scheme?: 'http' | 'https';
  readonly target?: string | undefined;
  readonly httpVersion?: string | undefined;
  readonly peerAddress?: string | undefined;
  readonly peerPort?: number | undefined;
  readonly recordQuery?: boolean;
}

/**
 * The server span's request attributes (stable HTTP conventions): `http.request.method` (and
 * `http.request.method_original` when it differs), `url.scheme`, `url.path`, `url.query` only with
 * `recordQuery` (sensitive values redacted), `server.address`/`server.port` from the `Host` header (or
 * `:authority`), `network.protocol.version`, `client.address` and `network.peer.*` from the connection, and
 * `user_agent.original`. Forwarding headers are not read: at an edge they are the caller's to forge.
 */
export function serverRequestAttributes<C>(facts: HttpRequestFacts<C>, method: string): Attributes {
  const scheme = facts.scheme ?? 'http';
  const attributes: Attributes = { 'http.request.method': method, 'url.scheme': scheme };
  const original = facts.method;
  if (original !== undefined && original !== method) {
    attributes['http.request.method_original'] = cut(original, MAX_METHOD);
  }
  const target = facts.target;
  if (target !== undefined) {
    let path = target;
    let query: string | undefined;
    let authority: string | undefined;
    if (!target.startsWith('/') && URL.canParse(target)) {
      // The absolute form a proxy receives: its authority is the server's, as the conventions say.
      const url = new URL(target);
      path = url.pathname;
      query = url.search === '' ? undefined : url.search.slice(1);
      authority = url.host;
    } else {
      const hash = path.indexOf('#');
      if (hash !== -1) path = path.slice(0, hash);
      const mark = path.indexOf('?');
      if (mark !== -1) {
        query = path.slice(mark + 1);
        path = path.slice(0, mark);
      }
    }
    attributes['url.path'] = cut(path, MAX_URL_PART);
    if (facts.recordQuery === true && query !== undefined && query !== '') {
      attributes['url.query'] = redactQuery(query);
    }
    if (authority !== undefined) setServer(attributes, parseAuthority(authority), scheme);
  }
  if (attributes['server.address'] === undefined) {
    const host = first(
      facts.getter.get(facts.carrier, 'host') ?? facts.getter.get(facts.carrier, ':authority'),
    );
    setServer(attributes, parseAuthority(host), scheme);
  }
  const version = facts.httpVersion;
  if (version !== undefined && /^\d(?:\.\d)?$/.test(version)) {
    // Node reports HTTP/2 as `2.0`; the conventions write `2`.
    attributes['network.protocol.version'] =
      version.endsWith('.0') && version !== '1.0' ? version[0] : version;
  }
  const peer = facts.peerAddress;
  if (peer !== undefined && peer.length <= 64) {
    attributes['client.address'] = peer;
    attributes['network.peer.address'] = peer;
    if (facts.peerPort !== undefined) attributes['network.peer.port'] = facts.peerPort;
  }
  const agent = first(facts.getter.get(facts.carrier, 'user-agent'));
  if (agent !== undefined && agent !== '') attributes['user_agent.original'] = cut(agent, MAX_HEADER_VALUE);
  return attributes;
}

function setServer(
  attributes: Attributes,
  authority: { address: string; port?: number } | undefined,
  scheme: string,
): void {
  if (authority === undefined) return;
  attributes['server.address'] = authority.address;
  attributes['server.port'] = authority.port ?? (scheme === 'https' ? 443 : 80);
}
