import type { IncomingMessage, ServerResponse } from 'node:http';
import { CancelledError } from '@keel/resilience';
import type { TextMapSetter } from '@opentelemetry/api';
import { bindEmitter } from './bind-emitter.js';
import type { HttpServerOperation } from './http.js';

/** What an adapter learns about a request while it is handled, read when the response ends. */
export interface ExchangeState {
  /** The matched route template (`/orders/:id`), never the raw path; undefined when nothing matched. */
  readonly route: string | undefined;
  /** The error the application raised for this request, if any. */
  error: unknown;
}

interface Exchange {
  readonly op: HttpServerOperation;
  readonly state: ExchangeState;
  /** Made on the first `exchangeSignal`, so requests that never ask pay nothing. */
  controller: AbortController | undefined;
}

// A WeakMap, not a property of the response: adding a property to a response Express has re-prototyped
// costs microseconds. Kept under a Symbol.for key so a second installed copy of the package shares it.
const registry = globalThis as { [key: symbol]: WeakMap<ServerResponse, Exchange> | undefined };
const kExchanges = Symbol.for('keel.telemetry.exchanges');
const exchanges: WeakMap<ServerResponse, Exchange> = registry[kExchanges] ?? new WeakMap();
registry[kExchanges] = exchanges;

const responseHeaders: TextMapSetter<ServerResponse> = {
  set(res, key, value) {
    if (!res.headersSent) res.setHeader(key, value);
  },
};

/**
 * Ties an inbound HTTP operation to a `node:http` request and response, for every adapter on `node:http`
 * (Express, plain handlers): echoes the correlation ID, makes listeners added to either stream later run
 * in the request's context, and ends the operation when the response finishes — or as 499 with a
 * `CancelledError` when the client goes away first. `state` is read at that moment.
 */
export function trackExchange(
  op: HttpServerOperation,
  req: IncomingMessage,
  res: ServerResponse,
  state: ExchangeState,
): void {
  op.echoCorrelationId(res, responseHeaders);
  exchanges.set(res, { op, state, controller: undefined });
  // Shared listeners: nothing allocated per request beyond the exchange record.
  res.once('finish', onFinish);
  res.once('close', onClose);
  // A body parser that reads `req` and calls next() from 'end' would otherwise hand the socket's (empty)
  // context to every handler after it; the same for listeners on the response.
  bindEmitter(op.context, req);
  bindEmitter(op.context, res);
}

/**
 * An `AbortSignal` that aborts with the `CancelledError` the operation records (499) when the client goes
 * away before the response finished, for the request's outbound work; it never aborts once the response
 * finished. Undefined for a response `trackExchange` did not track.
 */
export function exchangeSignal(res: ServerResponse): AbortSignal | undefined {
  const exchange = exchanges.get(res);
  if (exchange === undefined) return undefined;
  if (exchange.controller === undefined) {
    exchange.controller = new AbortController();
    // Asked after the client already left: 'close' has been handled, so abort now.
    if (res.destroyed && !res.writableFinished) {
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
  const exchange = exchanges.get(res);
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

function exchangeOf(res: ServerResponse): Exchange | undefined {
  return exchanges.get(res);
}

function onFinish(this: ServerResponse): void {
  const exchange = exchangeOf(this);
  if (exchange === undefined) return;
  const { op, state } = exchange;
  op.end({ route: state.route, statusCode: this.statusCode, error: state.error });
}

function onClose(this: ServerResponse): void {
  const exchange = exchangeOf(this);
  // 'close' after a finished response is the normal end; before it, the caller went away (nginx's 499).
  if (exchange === undefined || this.writableFinished) return;
  const { op, state } = exchange;
  const gone = clientGone(state);
  exchange.controller?.abort(gone);
  op.end({ route: state.route, statusCode: 499, error: state.error });
}
