import { diag } from '@opentelemetry/api';

/**
 * Waits for `work` at most `ms` milliseconds and never rejects: a failure or a timeout is reported through
 * OpenTelemetry's diag logger, because callers use this on the way out of a process, where throwing helps no one.
 */
export function settleWithin(work: () => Promise<unknown>, ms: number, what: string): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      diag.warn(`@keel/telemetry: ${what} did not finish within ${ms} ms; stopped waiting for it`);
      resolve();
    }, ms);
    // The guard only bounds other work; on its own it must never keep the process alive.
    timer.unref();
    let pending: Promise<unknown>;
    try {
      pending = work();
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending
      .then(undefined, (error: unknown) => diag.warn(`@keel/telemetry: ${what} failed`, error))
      .finally(() => {
        clearTimeout(timer);
        resolve();
      });
  });
}
