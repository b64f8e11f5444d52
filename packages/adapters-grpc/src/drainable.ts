import type { Server } from '@grpc/grpc-js';
import { invalidOption } from '@keel/resilience/adapter';
import type { Drainable } from '@keel/telemetry/adapter';

/** A grpc-js server as `gracefulShutdown` drains it (`@keel/telemetry`'s `Drainable` contract). */
export interface DrainableGrpcServer extends Drainable {
  readonly name: string;
}

/**
 * Makes a grpc-js server drainable by `gracefulShutdown`: `tryShutdown()` (no new calls, in-flight ones run
 * on), then `forceShutdown()` (in-flight calls cancelled, connections closed) once the grace period ends.
 *
 * @example
 * gracefulShutdown({ readiness, drain: [drainableGrpcServer(server)], telemetry });
 */
export function drainableGrpcServer(server: Server, options: { name?: string } = {}): DrainableGrpcServer {
  if (typeof (server as Server | undefined)?.tryShutdown !== 'function') {
    invalidOption('drainableGrpcServer', 'argument server', 'a grpc-js Server', server);
  }
  const name = options.name ?? 'grpc';
  if (typeof name !== 'string') invalidOption('drainableGrpcServer', 'name', 'a string', name);
  return {
    name,
    drain(signal) {
      return new Promise<void>((resolve) => {
        const force = () => {
          server.forceShutdown();
          resolve();
        };
        if (signal.aborted) return force();
        signal.addEventListener('abort', force, { once: true });
        server.tryShutdown(() => {
          signal.removeEventListener('abort', force);
          resolve();
        });
      });
    },
  };
}
