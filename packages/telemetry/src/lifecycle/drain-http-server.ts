import type { IncomingMessage, ServerResponse } from 'node:http';
import { CancelledError } from '@keel/resilience';
import { cancelExchange } from '../operations/node-exchange.js';
import type { Drainable, HttpServerLike } from './drainable.js';

/**
 * Drains a `node:http` server with its public API only: stop listening, close idle keep-alive
 * connections, answer in-flight requests with `Connection: close` and close each connection as its last
 * response ends; when the grace period is over, abort the in-flight requests' signals (the
 * `requestSignal(req)` of `@keel/express`, telemetry's `exchangeSignal`) and destroy what is left.
 *
 * It watches requests from the moment it is made (a 'request' listener and a `Set` entry per request),
 * because Node offers no public way to list the requests a server is answering.
 */
export function drainHttpServer(server: HttpServerLike, name = 'http server'): Drainable {
  const inFlight = new Set<ServerResponse>();
  let draining = false;

  function onRequest(_req: IncomingMessage, res: ServerResponse): void {
    inFlight.add(res);
    res.once('close', onResponseClose);
    // A request that arrives on a kept-alive connection while draining is served, then its connection closes.
    if (draining && !res.headersSent) res.setHeader('connection', 'close');
  }

  function onResponseClose(this: ServerResponse): void {
    inFlight.delete(this);
    // A response whose headers went out with keep-alive before draining leaves an idle connection behind.
    if (draining) server.closeIdleConnections();
  }

  server.on('request', onRequest);

  return {
    name,
    drain(signal: AbortSignal): Promise<void> {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
      return new Promise<void>((resolve) => {
        const cancel = (): void => {
          const reason =
            signal.reason instanceof CancelledError
              ? signal.reason
              : new CancelledError('the service shut down before the response was sent');
          for (const res of inFlight) cancelExchange(res, reason);
          // Destroying the response (not only its connection) marks it destroyed at once, so an error
          // handler reacting to the abort does not write into a connection that is already gone.
          for (const res of inFlight) res.destroy();
          server.closeAllConnections();
        };
        if (signal.aborted) cancel();
        else signal.addEventListener('abort', cancel, { once: true });
        // close() stops listening and, since Node 19, closes idle connections; its callback runs once
        // every connection has ended (at once, with an error, for a server that is not listening).
        server.close(() => {
          signal.removeEventListener('abort', cancel);
          server.off('request', onRequest);
          resolve();
        });
      });
    },
  };
}
