import type { IBackoff } from 'cockatiel';
import type { BackoffCursor, RetryHooks } from '../retry.js';
import { type AttemptPlan, attempt, type Settle } from './attempt.js';
import type { Scope } from './scope.js';
import { sleep } from './sleep.js';

/**
 * The standard pipeline's retry as callbacks rather than an async loop: an attempt reports here, and a
 * call that succeeds at once settles without a promise or an async frame of the retry's own. The
 * decisions are the retry policy's (`RetryHooks`), so this and `retry().run` cannot drift apart.
 */
export class RetryLoop implements Settle, BackoffCursor {
  delays: IBackoff<unknown> | undefined = undefined;

  constructor(
    readonly scope: Scope,
    readonly retry: RetryHooks,
    readonly plan: AttemptPlan,
    readonly sink: Settle,
  ) {}

  start(start: number | undefined): void {
    this.scope.call.attemptNumber = 1;
    attempt(this.scope, this.plan, this, start);
  }

  ok(value: unknown): void {
    let stands: boolean;
    try {
      stands = this.retry.accepts(this.scope, value);
    } catch (error) {
      // A throwing retryOn fails the attempt, as it does in `retry().run`.
      this.fail(error);
      return;
    }
    if (stands) this.sink.ok(value);
    else this.#next(false, undefined, value);
  }

  fail(error: unknown): void {
    // A call-level abort (total timeout, deadline, caller gone) ends the call; it is not a retryable failure.
    const reason = this.scope.reason;
    let retryable = false;
    let outcome = reason ?? error;
    if (reason === undefined) {
      try {
        retryable = this.retry.shouldRetryError(this.scope, error);
      } catch (thrown) {
        outcome = thrown;
      }
    }
    if (retryable) this.#next(true, error, undefined);
    else this.sink.fail(outcome);
  }

  #next(failed: boolean, error: unknown, result: unknown): void {
    const call = this.scope.call;
    const number = call.attemptNumber;
    let delay: number | undefined;
    try {
      delay = this.retry.nextDelay(this.scope, number, failed, error, result, this);
    } catch (thrown) {
      this.sink.fail(thrown);
      return;
    }
    if (delay === undefined) {
      if (failed) this.sink.fail(error);
      else this.sink.ok(result);
      return;
    }
    sleep(delay, this.scope).then(
      () => {
        call.attemptNumber = number + 1;
        attempt(this.scope, this.plan, this, undefined);
      },
      (reason: unknown) => this.sink.fail(reason),
    );
  }
}
