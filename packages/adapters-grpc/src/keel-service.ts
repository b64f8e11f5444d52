import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { invalidOption, isPlainObject } from '@keel/resilience/adapter';
import { toGrpcStatus } from './status.js';

type Callback = (error: unknown, value?: unknown, ...rest: unknown[]) => void;
type Handler = (call: unknown, callback?: Callback) => unknown;
type Emitter = { emit(event: 'error', error: unknown): boolean };

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** A unary or client-streaming handler: errors become statuses; a returned promise answers the call. */
function withCallback(handler: Handler): Handler {
  return function keelHandler(call, callback) {
    let answered = false;
    const answer: Callback = (error, ...rest) => {
      if (answered) return;
      answered = true;
      if (error) callback?.(toGrpcStatus(error));
      else callback?.(null, ...rest);
    };
    let result: unknown;
    try {
      result = handler(call, answer);
    } catch (error) {
      answer(error);
      return;
    }
    if (isThenable(result))
      result.then(
        (value) => answer(null, value),
        (error: unknown) => answer(error),
      );
  };
}

/** A server- or bidi-streaming handler: a throw or a rejected promise ends the stream with its status. */
function withStream(handler: Handler): Handler {
  return function keelStreamHandler(call) {
    const end = (error: unknown) => (call as Emitter).emit('error', toGrpcStatus(error));
    let result: unknown;
    try {
      result = handler(call);
    } catch (error) {
      end(error);
      return;
    }
    if (isThenable(result)) result.then(undefined, end);
  };
}

/**
 * Wraps a service implementation for `server.addService`: an error a handler passes to its callback,
 * throws, or rejects with is answered through {@link toGrpcStatus} (Keel outcomes through the core's table,
 * nothing internal in `details`); a unary or client-streaming handler may also return a promise of its
 * response. Handlers are matched to their kind by `definition`.
 *
 * @example
 * server.addService(Orders.service, keelService(Orders.service, {
 *   async get(call) { return { id: call.request.id, total: await prices.total(call.request.id) }; },
 * }));
 */
export function keelService<I extends object>(definition: ServiceDefinition, implementation: I): I {
  const owner = 'keelService';
  if (!isPlainObject(definition))
    invalidOption(owner, 'argument definition', 'a grpc-js service definition', definition);
  if (!isPlainObject(implementation))
    invalidOption(owner, 'argument implementation', 'an object of handlers', implementation);
  const wrapped: UntypedServiceImplementation = {};
  const impl = implementation as Record<string, unknown>;
  for (const [name, attrs] of Object.entries(definition as ServiceDefinition)) {
    for (const key of new Set([name, attrs.originalName ?? name])) {
      const handler = impl[key];
      if (handler === undefined) continue;
      if (typeof handler !== 'function')
        invalidOption(owner, `argument implementation.${key}`, 'a function', handler);
      wrapped[key] = (attrs.responseStream ? withStream : withCallback)(handler as Handler) as never;
    }
  }
  return { ...implementation, ...wrapped } as I;
}
