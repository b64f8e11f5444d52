import { ExponentialBackoff, fullJitterGenerator, type IBackoff } from 'cockatiel';
import { isCancelledError, isCircuitOpenError, isKeelError } from './errors.js';
import { now } from './internal/clock.js';
import type { Scope } from './internal/scope.js';
import { sleep } from './internal/sleep.js';
import { checkFunction, checkKeys, checkObject, MAX_MS, optionalNumber } from './internal/validate.js';
import { brandPolicy, type Next, type Policy } from './policy.js';
import { type RetryBudget, type RetryBudgetOptions, retryBudget } from './retry-budget.js';

/** How one attempt ended, as seen by `retryOn` and `retryAfter`. */
export type Outcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: unknown };

/** Options of the retry policy. Times in milliseconds. */
export interface RetryOptions {
  /** Attempts in all, the first included (`3` means at most three calls). @default 3 */
  maxAttempts?: number;
  /** Base of the exponential backoff; each delay is drawn uniformly from [0, base × 2^(n-1)] (full jitter). @default 100 */
  baseDelayMs?: number;
  /** Cap of each backoff delay. @default 5000 */
  maxDelayMs?: number;
  /**
   * Which outcomes to retry. Called for errors, and for results too when given, so a result such as an
   * HTTP 503 response can be retried. @default every error except cancellation and local rejections
   */
  retryOn?: (outcome: Outcome) => boolean;
  /**
   * A server's hint of when to retry (`Retry-After`, `grpc-retry-pushback-ms`), in milliseconds, used
   * instead of the backoff. An error's own numeric `retryAfterMs` is honoured without this.
   */
  retryAfter?: (outcome: Outcome) => number | undefined;
  /**
   * The retry budget, its options, or `false` for none. @default a budget of its own, `retryBudget()`:
   * retries may add up to half the successful calls, with a reserve of 10
   */
  budget?: RetryBudget | RetryBudgetOptions | false;
}

/** The retry policy. */
export interface RetryPolicy extends Policy {
  readonly name: 'retry';
  readonly maxAttempts: number;
  /** The budget this policy draws on, if any. */
  readonly budget: RetryBudget | undefined;
}

/** Where a call is in its backoff sequence; the sequence starts at the first retry. */
export interface BackoffCursor {
  delays: IBackoff<unknown> | undefined;
}

/** The retry's steps, so the pipeline's fused path can run them without an async loop of its own. */
export interface RetryHooks {
  /** Whether a successful attempt's result stands (crediting the budget), or is to be retried. */
  accepts(scope: Scope, result: unknown): boolean;
  /** Whether a failed attempt's error may be retried. */
  shouldRetryError(scope: Scope, error: unknown): boolean;
  /** After an attempt that will not stand: the wait before the next one, or undefined to give up. */
  nextDelay(
    scope: Scope,
    attempt: number,
    failed: boolean,
    error: unknown,
    result: unknown,
    cursor: BackoffCursor,
  ): number | undefined;
}

const kHooks = Symbol('keel.retry.hooks');

const KNOWN = ['maxAttempts', 'baseDelayMs', 'maxDelayMs', 'retryOn', 'retryAfter', 'budget'] as const;

/** The default: retry failures of the dependency, never a cancellation or a local rejection. */
export function isRetryableByDefault(error: unknown): boolean {
  return !isKeelError(error) || error.code === 'KEEL_ERR_TIMEOUT';
}

function hintOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const hint = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof hint === 'number' && Number.isFinite(hint) && hint >= 0 ? hint : undefined;
}

function isBudget(value: object): value is RetryBudget {
  return typeof (value as RetryBudget).canRetry === 'function';
}

/**
 * Retries failed attempts with exponential backoff and full jitter, within the attempt limit, the retry
 * budget and the deadline. When it gives up, the call rejects with the last attempt's own error (or
 * resolves with the last result, for retried results); the events say why.
 */
export function retry(options: RetryOptions = {}, owner = 'retry'): RetryPolicy {
  checkKeys(owner, owner === 'retry' ? '' : 'retry.', options as Record<string, unknown>, KNOWN);
  const p = owner === 'retry' ? '' : 'retry.';
  const maxAttempts = optionalNumber(owner, `${p}maxAttempts`, options.maxAttempts, 3, 1, 100);
  const baseDelayMs = optionalNumber(owner, `${p}baseDelayMs`, options.baseDelayMs, 100, 1, 60_000);
  const maxDelayMs = optionalNumber(owner, `${p}maxDelayMs`, options.maxDelayMs, 5_000, baseDelayMs, MAX_MS);
  const retryOn = checkFunction<(o: Outcome) => boolean>(owner, `${p}retryOn`, options.retryOn);
  const retryAfter = checkFunction<(o: Outcome) => number | undefined>(
    owner,
    `${p}retryAfter`,
    options.retryAfter,
  );
  const budgetOption = options.budget;
  const budget =
    budgetOption === false
      ? undefined
      : budgetOption !== undefined && isBudget(budgetOption)
        ? budgetOption
        : retryBudget(
            budgetOption === undefined ? {} : checkObject(owner, `${p}budget`, budgetOption),
            owner,
            `${p}budget.`,
          );
  const backoff = new ExponentialBackoff({
    generator: fullJitterGenerator,
    initialDelay: baseDelayMs,
    maxDelay: maxDelayMs,
  });

  const shouldRetryError = (scope: Scope, error: unknown): boolean => {
    // Cancellation is never retried, whatever the predicate says: the caller has gone.
    if (isCancelledError(error) || !scope.call.idempotent) return false;
    if (retryOn !== undefined) return !isCircuitOpenError(error) && retryOn({ ok: false, error });
    return isRetryableByDefault(error);
  };

  const accepts = (scope: Scope, result: unknown): boolean => {
    if (scope.call.idempotent && retryOn?.({ ok: true, result })) return false;
    budget?.onSuccess();
    return true;
  };

  /** After an attempt that will not stand: the wait before the next one, or undefined to give up. */
  function nextDelay(
    scope: Scope,
    attempt: number,
    failed: boolean,
    error: unknown,
    result: unknown,
    cursor: BackoffCursor,
  ): number | undefined {
    const call = scope.call;
    if (attempt >= maxAttempts) {
      call.emit('retry', 'give-up', 0, error);
      return undefined;
    }
    if (budget !== undefined && !budget.canRetry()) {
      call.emit('retry', 'budget-exhausted', 0, error);
      return undefined;
    }
    const outcome: Outcome | undefined =
      retryAfter === undefined ? undefined : failed ? { ok: false, error } : { ok: true, result };
    let delay =
      (failed ? hintOf(error) : undefined) ?? (outcome === undefined ? undefined : retryAfter?.(outcome));
    if (delay === undefined) {
      cursor.delays = cursor.delays === undefined ? backoff.next() : cursor.delays.next(undefined);
      delay = cursor.delays.duration;
    }
    delay = Math.min(delay, MAX_MS);
    // A wait that would overrun the deadline is pointless: give up now with the real failure.
    if (scope.deadline !== undefined && delay >= scope.deadline - now()) {
      call.emit('retry', 'give-up', 0, error, delay);
      return undefined;
    }
    budget?.onRetry();
    call.emit('retry', 'retry', 0, error, delay);
    return delay;
  }

  async function run(scope: Scope, next: Next): Promise<unknown> {
    const call = scope.call;
    const cursor: BackoffCursor = { delays: undefined };
    for (let attempt = 1; ; attempt++) {
      // `attempt` counts this policy's attempts (for maxAttempts); the call's number counts every attempt
      // started, so one after a hedged round continues past the hedges' numbers.
      call.attemptNumber = attempt === 1 ? 1 : call.attemptNumber + 1;
      let failed = false;
      let error: unknown;
      let result: unknown;
      try {
        result = await next(scope);
        if (accepts(scope, result)) return result;
      } catch (e) {
        // A call-level abort (total timeout, deadline, caller gone) ends the call; it is not a retryable failure.
        if (scope.reason !== undefined) throw scope.reason;
        if (!shouldRetryError(scope, e)) throw e;
        failed = true;
        error = e;
      }
      const delay = nextDelay(scope, attempt, failed, error, result, cursor);
      if (delay === undefined) {
        if (failed) throw error;
        return result;
      }
      await sleep(delay, scope);
    }
  }

  const hooks: RetryHooks = { accepts, shouldRetryError, nextDelay };
  return brandPolicy<RetryPolicy>({
    name: 'retry',
    maxAttempts,
    budget,
    run,
    [kHooks]: hooks,
  } as RetryPolicy);
}

/** The retry steps of a policy built by `retry()`, for the pipeline's fused path. */
export function retryHooks(policy: RetryPolicy): RetryHooks {
  return (policy as unknown as Record<symbol, RetryHooks>)[kHooks]!;
}
