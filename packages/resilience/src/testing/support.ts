// Helpers shared by this package's tests; not part of the build (see tsconfig.json).
import type { Pipeline, ResilienceEvent } from '../index.js';

/** A promise with its resolve and reject handles. */
export function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Watches a promise so a test can assert whether, and how, it settled without awaiting it. */
export function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value: T | undefined; error: unknown } = {
    settled: false,
    value: undefined,
    error: undefined,
  };
  void promise.then(
    (value) => {
      state.settled = true;
      state.value = value;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

/** Collects every event of a pipeline into an array. */
export function record(p: Pipeline): ResilienceEvent[] {
  const events: ResilienceEvent[] = [];
  p.onEvent((e) => events.push(e));
  return events;
}
