import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { currentTelemetry, outcomeStatus, type Telemetry, trackExchange } from '@keel/telemetry';
import { defaultTextMapGetter } from '@opentelemetry/api';
import { checkBoolean, checkKeys, fail, isPlainObject } from './internal/validate.js';

/** A plain `node:http` request listener; it may return a promise. */
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Options of {@link keelHandler}. */
export interface KeelHandlerOptions {
  /** The telemetry to report to. @default currentTelemetry(), looked up per request */
  telemetry?: Telemetry;
  /**
   * The route template of a request (`/orders/:id`), read when the response ends; never the raw path,
   * which would mint a metric series per URL. @default none (span named `{method}`)
   */
  route?: (req: IncomingMessage) => string | undefined;
  /** Start a new trace (linking the caller's) and drop inbound baggage: for services reached from outside. @default false */
  edge?: boolean;
}

const KNOWN = new Set(['telemetry', 'route', 'edge']);

interface HandlerState {
  error: unknown;
  readonly route: string | undefined;
}

function routeOf(
  route: ((req: IncomingMessage) => string | undefined) | undefined,
  req: IncomingMessage,
): string | undefined {
  try {
    return route?.(req);
  } catch {
    return undefined;
  }
}

/**
 * Wraps a `node:http` request listener: the caller's context is extracted, the handler runs in it, the
 * correlation ID is echoed on the response, and the server span and histogram end with the response (499
 * when the client goes away first). A handler that throws gets the Keel outcome's status, or 500.
 *
 * @example
 * http.createServer(keelHandler(async (req, res) => res.end('ok'), { route: (req) => routeOf(req.url) }));
 */
export function keelHandler(
  handler: RequestHandler,
  options: KeelHandlerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof handler !== 'function') fail('keelHandler', 'handler', 'a function (req, res)', handler);
  if (!isPlainObject(options as unknown)) fail('keelHandler', 'options', 'an options object', options);
  checkKeys('keelHandler', options, KNOWN);
  const { telemetry: fixed, route } = options;
  if (route !== undefined && typeof route !== 'function')
    fail('keelHandler', 'route', 'a function (req) => string | undefined', route);
  if (fixed !== undefined && typeof (fixed as Telemetry | null)?.httpServer !== 'function') {
    fail('keelHandler', 'telemetry', 'a Telemetry handle from @keel/telemetry', fixed);
  }
  const edge = checkBoolean('keelHandler', 'edge', options.edge) ?? false;

  return function keelRequest(req: IncomingMessage, res: ServerResponse): void {
    const telemetry = fixed ?? currentTelemetry();
    const op = telemetry.httpServer({
      carrier: req.headers,
      getter: defaultTextMapGetter,
      method: req.method,
      edge,
      scheme: (req.socket as TLSSocket).encrypted === true ? 'https' : 'http',
    });
    // The template is asked for when the response ends; a broken route function must not lose the span.
    const state: HandlerState = {
      error: undefined,
      get route() {
        return routeOf(route, req);
      },
    };
    trackExchange(op, req, res, state);
    const answerError = (error: unknown): void => {
      state.error = error;
      if (res.headersSent) {
        res.destroy(error instanceof Error ? error : undefined);
        return;
      }
      const status = outcomeStatus(error);
      res.statusCode = status?.httpStatus ?? 500;
      if (status?.retryAfterSeconds !== undefined) res.setHeader('retry-after', status.retryAfterSeconds);
      res.end();
    };
    try {
      const result = op.run(() => handler(req, res));
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, answerError);
      }
    } catch (error) {
      answerError(error);
    }
  };
}
