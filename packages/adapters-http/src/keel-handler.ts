import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { currentTelemetry, type Telemetry } from '@keel/telemetry';
import { outcomeStatus, spentDeadline, startHttpServer, trackExchange } from '@keel/telemetry/adapter';
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
  /**
   * Answer 504 at once, without running the handler, when the caller's deadline (`x-keel-deadline-ms` or
   * `grpc-timeout`) is already spent on arrival, as `@keel/express`'s `keel()` does. @default true
   */
  rejectExpiredDeadline?: boolean;
}

const KNOWN = new Set(['telemetry', 'route', 'edge', 'rejectExpiredDeadline']);

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
 * when the client goes away first). A handler that throws gets the Keel outcome's status, or 500; a
 * request whose caller's deadline is already spent gets 504 without running the handler.
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
  if (fixed !== undefined && typeof (fixed as Telemetry | null)?.propagator !== 'object') {
    fail('keelHandler', 'telemetry', 'a Telemetry handle from @keel/telemetry', fixed);
  }
  const edge = checkBoolean('keelHandler', 'edge', options.edge) ?? false;
  const rejectExpired =
    checkBoolean('keelHandler', 'rejectExpiredDeadline', options.rejectExpiredDeadline) ?? true;

  return function keelRequest(req: IncomingMessage, res: ServerResponse): void {
    const telemetry = fixed ?? currentTelemetry();
    const op = startHttpServer(telemetry, {
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
    // Nobody waits for work whose caller's deadline was spent before it arrived.
    const spent = rejectExpired ? spentDeadline(op.context) : undefined;
    if (spent !== undefined) {
      answerError(spent);
      return;
    }
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
