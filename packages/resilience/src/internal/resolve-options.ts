import { type BulkheadOptions, bulkhead } from '../bulkhead.js';
import { type ChaosOptions, chaos } from '../chaos.js';
import { type CircuitBreakerOptions, type CircuitBreakerPolicy, circuitBreaker } from '../circuit-breaker.js';
import { fallback } from '../fallback.js';
import { type HedgeOptions, hedge } from '../hedge.js';
import type { PipelineOptions } from '../pipeline.js';
import type { Policy } from '../policy.js';
import { type RateLimitOptions, rateLimit } from '../rate-limit.js';
import { type RetryOptions, type RetryPolicy, retry } from '../retry.js';
import { timeout, totalTimeout } from '../timeout.js';
import {
  checkKeys,
  checkObject,
  isPlainObject,
  MAX_MS,
  optionalNumber,
  optionOutOfRange,
} from './validate.js';

/** The keys of the standard pipeline's options (`PipelineOptions`), for wrappers that accept them too. */
export const PIPELINE_OPTION_KEYS = [
  'timeout',
  'totalTimeout',
  'retry',
  'circuitBreaker',
  'bulkhead',
  'rateLimit',
  'fallback',
  'hedge',
  'chaos',
] as const;

/**
 * The policies of the standard pipeline, outer to inner: fallback → rate limit → total timeout → retry →
 * hedge → circuit breaker → bulkhead → attempt timeout → chaos; with the defaults of DESIGN §4, adapted to what was set
 * (a short totalTimeout shortens the default attempt timeout, a long timeout lengthens the default
 * totalTimeout). Throws naming the option when a value or a combination is out of range.
 */
export function resolvePolicies(
  owner: string,
  options: PipelineOptions,
  breakerToKeep?: CircuitBreakerPolicy,
): Policy[] {
  checkKeys(owner, '', options as Record<string, unknown>, PIPELINE_OPTION_KEYS);
  const off = (v: unknown): v is false => v === false;
  // Defaults adapt to what the user did set: a short totalTimeout shortens the default attempt timeout,
  // a long timeout lengthens the default totalTimeout. Only two explicit values can conflict.
  const explicitTotal = off(options.totalTimeout) ? undefined : options.totalTimeout;
  const totalHint =
    explicitTotal === undefined
      ? undefined
      : optionalNumber(owner, 'totalTimeout', explicitTotal, 0, 1, MAX_MS);
  const attemptMs = off(options.timeout)
    ? undefined
    : optionalNumber(owner, 'timeout', options.timeout, Math.min(10_000, totalHint ?? 10_000), 1, MAX_MS);
  const totalMs = off(options.totalTimeout) ? undefined : (totalHint ?? Math.max(30_000, attemptMs ?? 0));
  if (attemptMs !== undefined && totalMs !== undefined && attemptMs > totalMs) {
    optionOutOfRange(owner, 'timeout', `at most totalTimeout (${totalMs} ms)`, attemptMs);
  }
  const policies: Policy[] = [];
  if (options.fallback !== undefined) policies.push(fallback(options.fallback));
  if (options.rateLimit !== undefined && !off(options.rateLimit)) {
    policies.push(
      rateLimit(checkObject(owner, 'rateLimit', options.rateLimit) as unknown as RateLimitOptions, owner),
    );
  }
  if (totalMs !== undefined) policies.push(totalTimeout(totalMs));
  let retryPolicy: RetryPolicy | undefined;
  if (!off(options.retry)) {
    retryPolicy = retry(
      checkObject(owner, 'retry', options.retry === undefined ? {} : options.retry) as RetryOptions,
      owner,
    );
    policies.push(retryPolicy);
  }
  if (options.hedge !== undefined && !off(options.hedge)) {
    policies.push(
      hedgeOf(
        owner,
        checkObject(owner, 'hedge', options.hedge) as HedgeOptions,
        options,
        retryPolicy,
        attemptMs,
      ),
    );
  }
  if (!off(options.circuitBreaker)) {
    const cb = checkObject(
      owner,
      'circuitBreaker',
      options.circuitBreaker === undefined ? {} : options.circuitBreaker,
    ) as CircuitBreakerOptions;
    const ratioMode = cb.consecutiveFailures === undefined;
    // The window must see at least two attempts end, or a slow outage could never reach the ratio.
    if (ratioMode && cb.samplingDurationMs === undefined && attemptMs !== undefined) {
      const built = circuitBreaker({ ...cb, samplingDurationMs: Math.max(30_000, 2 * attemptMs) }, owner);
      policies.push(breakerToKeep ?? built);
    } else {
      if (ratioMode && attemptMs !== undefined && (cb.samplingDurationMs as number) < 2 * attemptMs) {
        optionOutOfRange(
          owner,
          'circuitBreaker.samplingDurationMs',
          `at least twice timeout (${2 * attemptMs} ms)`,
          cb.samplingDurationMs,
        );
      }
      const built = circuitBreaker(cb, owner);
      policies.push(breakerToKeep ?? built);
    }
    // An attempt that runs for its whole timeout fails as a timeout: such a threshold would count no slow success.
    const slowMs = cb.slowCallDurationThresholdMs;
    if (attemptMs !== undefined && typeof slowMs === 'number' && slowMs >= attemptMs) {
      optionOutOfRange(
        owner,
        'circuitBreaker.slowCallDurationThresholdMs',
        `less than timeout (${attemptMs} ms)`,
        slowMs,
      );
    }
  }
  if (options.bulkhead !== undefined && !off(options.bulkhead)) {
    policies.push(
      bulkhead(checkObject(owner, 'bulkhead', options.bulkhead) as unknown as BulkheadOptions, owner),
    );
  }
  if (attemptMs !== undefined) policies.push(timeout(attemptMs));
  if (options.chaos !== undefined && !off(options.chaos)) {
    // Innermost, where the dependency is: an injected fault meets the attempt timeout, breaker and retry.
    // Left out when disabled (production), so the pipeline runs as if it had none.
    const injected = chaos(checkObject(owner, 'chaos', options.chaos) as unknown as ChaosOptions, owner);
    if (injected.enabled) policies.push(injected);
  }
  return policies;
}

/**
 * The pipeline's hedge: it draws on the retry's budget (the retry credits it) unless given one, and takes
 * as acceptable what the retry would not retry. Each hedged attempt passes the breaker, the bulkhead and
 * its own attempt timeout, so a delay of at least `timeout` could never hedge anything: the default delay
 * is at most half the timeout, and an explicit one must be shorter than it.
 */
function hedgeOf(
  owner: string,
  given: HedgeOptions,
  options: PipelineOptions,
  retryPolicy: RetryPolicy | undefined,
  attemptMs: number | undefined,
): Policy {
  const retryOn = isPlainObject(options.retry) ? (options.retry as RetryOptions).retryOn : undefined;
  // The default delay adapts to a short attempt timeout, as the other defaults do; only an explicit one can conflict.
  const adapted = given.delayMs === undefined && attemptMs !== undefined && attemptMs <= 4_000;
  const shared: HedgeOptions = {
    ...given,
    ...(adapted ? { delayMs: Math.floor(attemptMs / 2) } : {}),
    ...(given.budget === undefined && retryPolicy !== undefined
      ? { budget: retryPolicy.budget ?? false }
      : {}),
    ...(given.accept === undefined && typeof retryOn === 'function'
      ? { accept: (result: unknown) => !retryOn({ ok: true, result }) }
      : {}),
  };
  const policy = hedge(shared, owner);
  if (attemptMs !== undefined && given.delayMs !== undefined && given.delayMs >= attemptMs) {
    optionOutOfRange(owner, 'hedge.delayMs', `less than timeout (${attemptMs} ms)`, given.delayMs);
  }
  return policy;
}
