import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Something the shutdown sequence drains: a server or a consumer that takes work from outside.
 *
 * The contract, which every Keel adapter's servers and consumers keep:
 * - `drain(signal)` is called at most once. From that moment the drainable takes no new work: a server
 *   stops accepting connections or calls, a consumer stops receiving messages.
 * - Work already taken runs on. The promise resolves once it has all finished (answered, acknowledged)
 *   and the drainable holds nothing that keeps the process alive (listening sockets, connections,
 *   channels, timers).
 * - When `signal` aborts, the grace period is over: cancel the work still in flight through its own
 *   `AbortSignal` (with `signal.reason`, a `CancelledError`), release what is left (destroy connections,
 *   `forceShutdown()`, nack for redelivery) and resolve promptly — within a few event-loop turns.
 * - It does not reject for work that was cancelled; a rejection means the drainable itself failed, and
 *   the sequence logs it and goes on.
 */
export interface Drainable {
  /** The name shutdown logs give it. @default 'drainable' */
  readonly name?: string;
  drain(signal: AbortSignal): Promise<void>;
}

/**
 * What the sequence closes once every drainable is drained: an outbound client (`httpClient`), anything
 * else with `close()`, or a function. `name` (a client's own) names it in shutdown logs.
 */
export type Closable = { readonly name?: string; close(): unknown } | (() => unknown);

/** A `node:http` or `node:https` server, as Express's `app.listen()` returns it. */
export interface HttpServerLike {
  readonly listening: boolean;
  close(callback?: (error?: Error) => void): unknown;
  closeIdleConnections(): void;
  closeAllConnections(): void;
  on(event: 'request', listener: RequestListener): unknown;
  off(event: 'request', listener: RequestListener): unknown;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export function isDrainable(value: unknown): value is Drainable {
  return typeof value === 'object' && value !== null && typeof (value as Drainable).drain === 'function';
}

export function isHttpServer(value: unknown): value is HttpServerLike {
  if (typeof value !== 'object' || value === null) return false;
  const server = value as Record<string, unknown>;
  return (
    typeof server.closeAllConnections === 'function' &&
    typeof server.closeIdleConnections === 'function' &&
    typeof server.close === 'function' &&
    typeof server.on === 'function'
  );
}
