import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkKeys, invalidOption, isPlainObject } from '@keel/resilience/adapter';
import {
  type ExchangeState,
  HTTP_INBOUND_OPTION_KEYS,
  type HttpInboundOptions,
  httpInbound,
} from '@keel/telemetry/adapter';

/** A plain `node:http` request listener; it may return a promise. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Options of {@link keelHandler}: telemetry's inbound options, the same as `keel()`'s, and `route`. */
export interface KeelHandlerOptions extends HttpInboundOptions {
  /**
   * The route template of a request (`/orders/:id`), read when the response ends; never the raw path,
   * which would mint a metric series per URL. @default none (span named `{method}`)
   */
  route?: (req: IncomingMessage) => string | undefined;
}

const KNOWN = new Set<string>([...HTTP_INBOUND_OPTION_KEYS, 'route']);

/** The state of one request: its route is asked for when the response ends. */
class HandlerState implements ExchangeState {
  error: unknown = undefined;

  constructor(
    readonly template: ((req: IncomingMessage) => string | undefined) | undefined,
    readonly req: IncomingMessage,
  ) {}

  get route(): string | undefined {
    // A broken route function must not lose the span.
    try {
      return this.template?.(this.req);
    } catch {
      return undefined;
    }
  }
}

/**
 * Wraps a `node:http` request listener in telemetry's one inbound flow, as `keel()` does for Express: the
 * caller's context is extracted, the handler runs in it, the correlation ID is echoed on the response, and
 * the server span and histogram end with the response (499 when the client goes away first). A handler
 * that throws gets the outcome table's answer (a Keel outcome's status, 502 for a dependency that could
 * not be reached or kept failing) or a logged 500, with a JSON body; a request whose caller's deadline is
 * already spent gets 504 without running the handler. Probe and scrape paths are left untraced.
 *
 * @example
 * http.createServer(keelHandler(async (req, res) => res.end('ok'), { route: (req) => routeOf(req.url) }));
 */
export function keelHandler(
  handler: RequestHandler,
  options: KeelHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof handler !== 'function')
    invalidOption('keelHandler', 'argument handler', 'a function (req, res)', handler);
  if (!isPlainObject(options as unknown))
    invalidOption('keelHandler', 'options', 'an options object', options);
  checkKeys('keelHandler', '', options, KNOWN);
  const { route } = options;
  if (route !== undefined && typeof route !== 'function')
    invalidOption('keelHandler', 'route', 'a function (req) => string | undefined', route);
  const inbound = httpInbound<IncomingMessage, ServerResponse, undefined>('keelHandler', options, {
    handle: handler,
    state: (req) => new HandlerState(route, req),
  });
  return function keelRequest(req: IncomingMessage, res: ServerResponse): void {
    inbound(req, res, undefined);
  };
}
