import { RateLimitedError } from './errors.js';
import { now } from './internal/clock.js';
import type { Scope } from './internal/scope.js';
import { sleep } from './internal/sleep.js';
import { checkKeys, checkNumber, MAX_MS, optionalNumber } from './internal/validate.js';
import { brandPolicy, type Next, type Policy } from './policy.js';

/** Options of the rate limiter: a token bucket refilled continuously. */
export interface RateLimitOptions {
  /** Tokens added per `intervalMs`. */
  limit: number;
  /** The refill interval, in ms. @default 1000 */
  intervalMs?: number;
  /** Bucket size: how many calls may pass at once after a quiet spell. @default limit */
  burst?: number;
  /** Wait up to this long for a token instead of rejecting at once (bounded by the deadline). @default 0 */
  maxWaitMs?: number;
}

/** The rate-limit policy. */
export interface RateLimitPolicy extends Policy {
  readonly name: 'rate-limit';
  /** Tokens available now (negative while callers wait on reserved tokens). */
  readonly tokens: number;
  /** Takes a token if one is free: 0 when taken, else the ms until one is due. Never waits. */
  tryAcquire(): number;
}

const KNOWN = ['limit', 'intervalMs', 'burst', 'maxWaitMs'] as const;

/**
 * Admits at most `limit` calls per `intervalMs` with bursts up to `burst`, rejecting the rest with a
 * `RateLimitedError` carrying `retryAfterMs`, or, with `maxWaitMs`, waiting for a token when one is due
 * soon enough. The bucket refills lazily: no timer runs while nothing calls.
 */
export function rateLimit(options: RateLimitOptions, owner = 'rateLimit'): RateLimitPolicy {
  const p = owner === 'rateLimit' ? '' : 'rateLimit.';
  checkKeys(owner, p, (options ?? {}) as unknown as Record<string, unknown>, KNOWN);
  const limit = checkNumber(owner, `${p}limit`, options?.limit, 1, 1_000_000_000);
  const intervalMs = optionalNumber(owner, `${p}intervalMs`, options.intervalMs, 1_000, 1, 86_400_000);
  const burst = optionalNumber(owner, `${p}burst`, options.burst, limit, 1, 1_000_000_000);
  const maxWaitMs = optionalNumber(owner, `${p}maxWaitMs`, options.maxWaitMs, 0, 0, MAX_MS);
  const perMs = limit / intervalMs;
  let tokens = burst;
  let refilledAt = now();

  function refill(): void {
    const t = now();
    tokens = Math.min(burst, tokens + (t - refilledAt) * perMs);
    refilledAt = t;
  }

  function tryAcquire(): number {
    refill();
    if (tokens >= 1) {
      tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - tokens) / perMs));
  }

  async function waitThenRun(scope: Scope, next: Next, waitMs: number): Promise<unknown> {
    tokens -= 1; // reserve, so later callers queue behind this one
    try {
      await sleep(waitMs, scope);
    } catch (error) {
      tokens += 1;
      throw error;
    }
    return next(scope);
  }

  function run(scope: Scope, next: Next): Promise<unknown> {
    const waitMs = tryAcquire();
    if (waitMs === 0) return next(scope);
    const deadlineLeft = scope.deadline === undefined ? Number.POSITIVE_INFINITY : scope.deadline - now();
    if (waitMs <= maxWaitMs && waitMs < deadlineLeft) return waitThenRun(scope, next, waitMs);
    const error = new RateLimitedError(waitMs, scope.call.pipeline);
    scope.call.emit('rate-limit', 'reject', 0, error);
    return Promise.reject(error);
  }

  return brandPolicy<RateLimitPolicy>({
    name: 'rate-limit',
    get tokens() {
      refill();
      return tokens;
    },
    tryAcquire,
    run,
  });
}
