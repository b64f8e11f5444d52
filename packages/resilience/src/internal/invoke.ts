import { TimeoutError } from '../errors.js';
import { now } from './clock.js';
import type { Call, Scope } from './scope.js';

// How a pipeline calls the user's function and guards a call as a whole.

/** Calls the user's function for `scope`'s attempt; a synchronous throw becomes a rejection. */
export function invokeFn(scope: Scope): Promise<unknown> {
  const call = scope.call;
  call.invocations++;
  try {
    return Promise.resolve(call.fn(scope));
  } catch (error) {
    return Promise.reject(error);
  }
}

async function invokeObserved(scope: Scope): Promise<unknown> {
  const call = scope.call;
  const start = now();
  try {
    const value = await invokeFn(scope);
    call.emit('pipeline', 'attempt', (now() - start) / 1000, undefined, undefined, scope.attempt);
    return value;
  } catch (error) {
    const failure = error ?? new Error('undefined rejection');
    call.emit('pipeline', 'attempt', (now() - start) / 1000, failure, undefined, scope.attempt);
    throw error;
  }
}

/** The user's function, with an `attempt` event around it when someone listens. */
export function invoke(scope: Scope): Promise<unknown> {
  return scope.call.events.active ? invokeObserved(scope) : invokeFn(scope);
}

/** Times a call out: the event, then the abort every attempt and wait of the call hears. */
export function expireCall(call: Call, budget: number, bound: TimeoutError['scope']): void {
  const error = new TimeoutError(budget, bound, call.pipeline);
  call.emit(bound === 'total' ? 'total-timeout' : 'pipeline', 'timeout', budget / 1000, error);
  call.abort(error);
}

/** Guards a call's deadline with a timer of its own (an inherited deadline, or any deadline of a custom chain). */
export function guard(call: Call, budgetMs: number, inherited: boolean): void {
  // A guard, not work: unref'd so it never keeps the process alive.
  call.timer = setTimeout(expireCall, budgetMs, call, budgetMs, inherited ? 'deadline' : 'total');
  call.timer.unref();
}

/** `work`, or the call's abort reason if the call is aborted first. */
export function raceRoot(call: Call, work: Promise<unknown>): Promise<unknown> {
  return new Promise((resolve, reject) => {
    call.listen({ onAbort: reject });
    work.then(resolve, reject);
  });
}
