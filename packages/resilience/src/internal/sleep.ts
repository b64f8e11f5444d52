import type { AbortListener, Scope } from './scope.js';

class Sleep implements AbortListener {
  timer: NodeJS.Timeout | undefined = undefined;
  constructor(
    readonly scope: Scope,
    readonly resolve: () => void,
    readonly reject: (reason: Error) => void,
  ) {}

  onAbort(reason: Error): void {
    clearTimeout(this.timer);
    this.reject(reason);
  }
}

function wake(sleep: Sleep): void {
  sleep.scope.unlisten(sleep);
  sleep.resolve();
}

/**
 * Waits `ms`, or rejects with the scope's abort reason the moment it is aborted (clearing the timer).
 * The timer is referenced: a backoff is work the process is waiting for, not a guard.
 */
export function sleep(ms: number, scope: Scope): Promise<void> {
  if (scope.reason !== undefined) return Promise.reject(scope.reason);
  return new Promise<void>((resolve, reject) => {
    const s = new Sleep(scope, resolve, reject);
    s.timer = setTimeout(wake, ms, s);
    scope.listen(s);
  });
}
