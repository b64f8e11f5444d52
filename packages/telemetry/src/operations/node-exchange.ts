import type { IncomingMessage, ServerResponse } from 'node:http';
import { CancelledError } from '@keel/resilience';
import type { TextMapSetter } from '@opentelemetry/api';
import { bindEmitter } from './bind-emitter.js';
import type { OperationCore } from './core.js';
import type { HttpServerOperation } from './http.js';

/** What an adapter learns about a request while it is handled, read when the response ends. */
export interface ExchangeState {
  /** The matched route template (`/orders/:id`), never the raw path; undefined when nothing matched. */
  readonly route: string | undefined;
  /** The error the application raised for this request, if any. */
  error: unknown;
}

/** Everything Keel keeps for one tracked request, in one slot of its response. */
export interface Exchange {
  readonly op: HttpServerOperation;
  readonly state: ExchangeState;
  /** The telemetry the request reports to, for the log line of an error nobody handled. */
  readonly core: OperationCore | undefined;
  /** Made on the first `exchangeSignal`, so requests that never ask pay nothing. */
  controller: AbortController | undefined;
  /**
   * Whether 'finish' was emitted: the response reached the client's connection. Not `writableFinished`,
   * which also turns true for a response ended after its connection was destroyed (a handler answering
   * once shutdown cancelled it), when 'finish' never comes.
   */
  finished: boolean;
}

// One symbol-keyed slot on the response, not a WeakMap: measured cheaper per request on responses Express
// re-prototypes (a WeakMap entry per request also costs the collector an ephemeron to trace). Symbol.for, so
// a second installed copy of this package finds the same slot.
const kExchange = Symbol.for('keel.telemetry.exchange');
type Tracked = ServerResponse & { [kExchange]?: Exchange };

/** The exchange `trackExchange` recorded for `res`, if any. */
export function exchangeOf(res: ServerResponse): Exchange | undefined {
  return (res as Tracked)[kExchange];
}

const responseHeaders: TextMapSetter<ServerResponse> = {
  set(res, key, value) {
    if (!res.headersSent) res.setHeader(key, value);
  },
};

/**
 * Ties an inbound HTTP operation to a `node:http` request and response, for every adapter on `node:http`
 * (Express, plain handlers): echoes the correlation ID, makes listeners added to either stream later run
 * in the request's context, and ends the operation when the response finishes — or as 499 with a
 * `CancelledError` when the client goes away first. `state` is read at that moment. `core` is the
 * telemetry the operation reports to, used for the log line of an error nobody handled.
 */
export function trackExchange(
  op: HttpServerOperation,
  req: IncomingMessage,
  res: ServerResponse,
  state: ExchangeState,
  core?: OperationCore,
): void {
  op.echoCorrelationId(res, responseHeaders);
  (res as Tracked)[kExchange] = { op, state, core, controller: undefined, finished: false };
  // Shared listeners: nothing allocated per request beyond the exchange record.
  res.once('finish', onFinish);
  res.once('close', onClose);
  // A body parser that reads `req` and calls next() from 'end' would otherwise hand the socket's (empty)
  // context to every handler after it; the same for listeners on the response.
  bindEmitter(op.context, req);
  bindEmitter(op.context, res);
}

/** The state an adapter gave `trackExchange` for `res`; undefined for a response it did not track. */
export function exchangeState(res: ServerResponse): ExchangeState | undefined {
  return exchangeOf(res)?.state;
}

/**
 * An `AbortSignal` that aborts with the `CancelledError` the operation records (499) when the client goes
 * away before the response finished, for the request's outbound work; it never aborts once the response
 * finished. Undefined for a response `trackExchange` did not track.
 */
export function exchangeSignal(res: ServerResponse): AbortSignal | undefined {
  const exchange = exchangeOf(res);
  if (exchange === undefined) return undefined;
  if (exchange.controller === undefined) {
    exchange.controller = new AbortController();
    // Asked after the client already left: 'close' has been handled, so abort now.
    if (res.destroyed && !exchange.finished) {
      const { error } = exchange.state;
      exchange.controller.abort(error instanceof CancelledError ? error : clientGone(exchange.state));
    }
  }
  return exchange.controller.signal;
}

/**
 * Cancels a tracked request that is still running (a shutdown whose grace period is over): its
 * `exchangeSignal` aborts with `error`, which is also the error the operation records. False for a
 * response `trackExchange` did not track.
 */
export function cancelExchange(res: ServerResponse, error: CancelledError): boolean {
  const exchange = exchangeOf(res);
  if (exchange === undefined) return false;
  exchange.state.error ??= error;
  exchange.controller ??= new AbortController();
  exchange.controller.abort(error);
  return true;
}

/** The cancellation of a request whose client left: the application's own error if it raised one first. */
function clientGone(state: ExchangeState): CancelledError {
  const gone = new CancelledError('the client closed the connection before the response was sent');
  state.error ??= gone;
  return gone;
}

function onFinish(this: ServerResponse): void {
  const exchange = exchangeOf(this);
  if (exchange === undefined) return;
  exchange.finished = true;
  const { op, state } = exchange;
  op.end({ route: state.route, statusCode: this.statusCode, error: state.error });
}

function onClose(this: ServerResponse): void {
  const exchange = exchangeOf(this);
  // 'close' after a finished response is the normal end; before it, the caller went away (nginx's 499).
  if (exchange === undefined || exchange.finished) return;
  const { op, state } = exchange;
  const gone = clientGone(state);
  exchange.controller?.abort(gone);
  op.end({ route: state.route, statusCode: 499, error: state.error });
}
