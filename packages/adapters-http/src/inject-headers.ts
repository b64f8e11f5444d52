import { invalidOption } from '@keel/resilience/adapter';
import { currentTelemetry, type Telemetry } from '@keel/telemetry';
import { startHttpClient } from '@keel/telemetry/adapter';
import type { TextMapSetter } from '@opentelemetry/api';

/** Options of {@link injectHeaders}. */
export interface InjectHeadersOptions {
  /**
   * Where the request goes; the egress allow-list (`propagateTo`) is applied to its host. Without it the
   * destination is unknown: with an allow-list configured only `traceparent` is written. @default unknown
   */
  url?: string | URL;
  /** The telemetry whose propagator and allow-list apply. @default currentTelemetry() */
  telemetry?: Telemetry;
}

/** A carrier `injectHeaders` can write to. */
export type HeaderCarrier = Headers | Record<string, string | string[] | number | undefined>;

const objectSetter: TextMapSetter<Record<string, unknown>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};
const headersSetter: TextMapSetter<Headers> = { set: (carrier, key, value) => carrier.set(key, value) };
// No host at all: an allow-list can never admit it, and without one every host is admitted.
const UNKNOWN_DESTINATION = new URL('about:blank');

function destination(url: unknown): URL {
  if (url === undefined) return UNKNOWN_DESTINATION;
  if (url instanceof URL) return url;
  if (typeof url === 'string' && URL.canParse(url)) return new URL(url);
  return invalidOption('injectHeaders', 'url', 'an absolute URL', url);
}

/**
 * Writes the active trace context, baggage, correlation ID and remaining deadline into `headers` (a plain
 * object or a `Headers`) for a request made with a client of your own, under the egress allow-list, and
 * returns `headers`. It starts no span: wrap the call in `pipeline.execute` and `telemetry.httpClient` for one.
 *
 * @example
 * const res = await fetch(url, { headers: injectHeaders({ accept: 'application/json' }, { url }) });
 */
export function injectHeaders(headers: Headers, options?: InjectHeadersOptions): Headers;
export function injectHeaders<H extends Exclude<HeaderCarrier, Headers>>(
  headers: H,
  options?: InjectHeadersOptions,
): H & Record<string, string>;
export function injectHeaders(headers: HeaderCarrier, options: InjectHeadersOptions = {}): HeaderCarrier {
  const isHeaders = headers instanceof Headers;
  if (!isHeaders && (typeof headers !== 'object' || headers === null || Array.isArray(headers))) {
    invalidOption('injectHeaders', 'argument headers', 'a Headers or a plain object', headers);
  }
  const telemetry = options.telemetry ?? currentTelemetry();
  startHttpClient(telemetry, {
    carrier: headers,
    setter: (isHeaders ? headersSetter : objectSetter) as TextMapSetter<HeaderCarrier>,
    method: 'GET',
    url: destination(options.url),
    span: false,
  });
  return headers;
}
