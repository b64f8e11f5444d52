import { BulkheadFullError, TimeoutError } from './errors.js';
import { type AdaptiveLimit, type AdaptiveLimitOptions, adaptiveLimit } from './internal/adaptive-limit.js';
import { now } from './internal/clock.js';
import type { AbortListener, Scope } from './internal/scope.js';
import { checkKeys, checkNumber, optionalNumber, optionConflict } from './internal/validate.js';
import { brandPolicy, type Next, type Policy } from './policy.js';

/** Options of the bulkhead. */
export interface BulkheadOptions {
  /** Calls allowed to run at once; required unless `adaptive` is set, and not allowed with it. */
  maxConcurrent?: number;
  /** Calls allowed to wait for a slot; more are rejected at once. @default 0 */
  maxQueue?: number;
  /**
   * A limit that adapts to the dependency instead of a fixed `maxConcurrent`: AIMD (grows on success,
   * shrinks on timeouts) or a gradient on latency (Gradient-style: limit × min RTT / smoothed RTT).
   */
  adaptive?: AdaptiveLimitOptions;
}

export type { AdaptiveLimitOptions };

/** The bulkhead policy, with its live counts for gauges. */
export interface BulkheadPolicy extends Policy {
  readonly name: 'bulkhead';
  /** Calls allowed to run at once: with `adaptive`, the limit now. */
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  /** The adaptive limit now (calls allowed at once), or undefined for a fixed bulkhead. */
  readonly concurrencyLimit: number | undefined;
  /** Calls running now. */
  readonly inFlight: number;
  /** Calls waiting for a slot now. */
  readonly queued: number;
}

class Waiter implements AbortListener {
  constructor(
    readonly scope: Scope,
    readonly queue: Set<Waiter>,
    readonly resolve: () => void,
    readonly reject: (reason: Error) => void,
  ) {}

  // A queued call whose caller gave up (cancel, total timeout, deadline) leaves the queue at once.
  onAbort(reason: Error): void {
    this.queue.delete(this);
    this.reject(reason);
  }
}

const kHooks = Symbol('keel.bulkhead.hooks');

const KNOWN = ['maxConcurrent', 'maxQueue', 'adaptive'] as const;

/** At most one `limit` event per bulkhead in this interval. */
export const LIMIT_EVENT_INTERVAL_MS = 1_000;

/** A change of the limit is reported when it moves by at least this share of the last reported one (and by 1). */
const MATERIAL_CHANGE = 0.1;

/**
 * Limits concurrent calls to `maxConcurrent`, queueing up to `maxQueue` more in arrival order. A queued
 * call leaves the queue the moment its signal, total timeout or deadline fires. Rejections
 * (`BulkheadFullError`) are local decisions, never counted as failures of the dependency.
 *
 * With `adaptive`, the number of calls allowed at once is learned from the calls themselves (AIMD on
 * timeouts, or a gradient on latency), within `adaptive.minLimit`–`maxLimit`; a material change of it is
 * reported by a `limit` event, at most once a second.
 */
export function bulkhead(options: BulkheadOptions, owner = 'bulkhead'): BulkheadPolicy {
  const p = owner === 'bulkhead' ? '' : 'bulkhead.';
  checkKeys(owner, p, (options ?? {}) as unknown as Record<string, unknown>, KNOWN);
  const adaptive: AdaptiveLimit | undefined =
    options?.adaptive === undefined ? undefined : adaptiveLimit(owner, `${p}adaptive`, options.adaptive);
  if (adaptive !== undefined && options?.maxConcurrent !== undefined) {
    optionConflict(
      owner,
      `${p}maxConcurrent`,
      `${p}adaptive`,
      'bound an adaptive limit with adaptive.minLimit and adaptive.maxLimit',
    );
  }
  const fixed =
    adaptive === undefined
      ? checkNumber(owner, `${p}maxConcurrent`, options?.maxConcurrent, 1, 1_000_000)
      : 0;
  const maxQueue = optionalNumber(owner, `${p}maxQueue`, options?.maxQueue, 0, 0, 1_000_000);
  let limit = adaptive === undefined ? fixed : Math.floor(adaptive.estimate);
  let reported = limit;
  let reportedAt = Number.NEGATIVE_INFINITY;
  // A Set keeps arrival order and deletes in O(1), which an aborting waiter needs.
  const queue = new Set<Waiter>();
  let inFlight = 0;

  function leave(): void {
    inFlight--;
    // Hand freed slots straight to the next waiters, so a newcomer cannot overtake the queue (a grown
    // adaptive limit may free more than one).
    for (const waiter of queue) {
      if (inFlight >= limit) return;
      queue.delete(waiter);
      waiter.scope.unlisten(waiter);
      inFlight++;
      waiter.resolve();
    }
  }

  function tryEnter(): boolean {
    if (inFlight >= limit) return false;
    inFlight++;
    return true;
  }

  /** Resolves once a slot is held (the caller must `leave()`), or rejects when full or aborted. */
  function enter(scope: Scope): Promise<void> {
    if (tryEnter()) return Promise.resolve();
    if (scope.reason !== undefined) return Promise.reject(scope.reason);
    if (queue.size >= maxQueue) {
      const error = new BulkheadFullError(limit, maxQueue, scope.call.pipeline);
      scope.call.emit('bulkhead', 'reject', 0, error);
      return Promise.reject(error);
    }
    scope.call.emit('bulkhead', 'queued', 0);
    return new Promise<void>((resolve, reject) => {
      const waiter = new Waiter(scope, queue, resolve, reject);
      queue.add(waiter);
      scope.listen(waiter);
    });
  }

  async function occupy(scope: Scope, next: Next): Promise<unknown> {
    try {
      return await next(scope);
    } finally {
      leave();
    }
  }

  async function queued(scope: Scope, next: Next): Promise<unknown> {
    await enter(scope);
    return occupy(scope, next);
  }

  /** Feeds one finished call to the adaptive limit, and reports a material change (rate-limited). */
  function sample(scope: Scope, startedAt: number, started: number, dropped: boolean): void {
    const learner = adaptive as AdaptiveLimit;
    learner.sample(now() - startedAt, started, dropped);
    limit = Math.floor(learner.estimate);
    if (limit === reported) return;
    const t = now();
    if (Math.abs(limit - reported) < Math.max(1, reported * MATERIAL_CHANGE)) return;
    if (t - reportedAt < LIMIT_EVENT_INTERVAL_MS) return;
    const previousLimit = reported;
    reported = limit;
    reportedAt = t;
    const call = scope.call;
    if (!call.events.active) return;
    call.events.emit({
      pipeline: call.pipeline,
      policy: 'bulkhead',
      kind: 'limit',
      attempt: 0,
      durationS: 0,
      previousLimit,
      limit,
    });
  }

  // With an adaptive limit each call is a sample: its time from leaving the queue, the calls in flight
  // when it started, and whether it timed out (a drop). Other failures, cancellations and local
  // rejections say nothing about the dependency's capacity and are not sampled.
  async function occupyAdaptive(scope: Scope, next: Next): Promise<unknown> {
    const startedAt = now();
    const started = inFlight;
    try {
      const value = await next(scope);
      sample(scope, startedAt, started, false);
      return value;
    } catch (error) {
      if (error instanceof TimeoutError) sample(scope, startedAt, started, true);
      throw error;
    } finally {
      leave();
    }
  }

  async function queuedAdaptive(scope: Scope, next: Next): Promise<unknown> {
    await enter(scope);
    return occupyAdaptive(scope, next);
  }

  function run(scope: Scope, next: Next): Promise<unknown> {
    return tryEnter() ? occupy(scope, next) : queued(scope, next);
  }

  function runAdaptive(scope: Scope, next: Next): Promise<unknown> {
    return tryEnter() ? occupyAdaptive(scope, next) : queuedAdaptive(scope, next);
  }

  return brandPolicy<BulkheadPolicy>({
    name: 'bulkhead',
    get maxConcurrent() {
      return limit;
    },
    maxQueue,
    get concurrencyLimit() {
      return adaptive === undefined ? undefined : limit;
    },
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return queue.size;
    },
    run: adaptive === undefined ? run : runAdaptive,
    [kHooks]: { tryEnter, enter, leave },
  } as BulkheadPolicy);
}

/** The bulkhead's steps, for the pipeline's fused attempt path. */
export interface BulkheadHooks {
  tryEnter(): boolean;
  enter(scope: Scope): Promise<void>;
  leave(): void;
}

/** The steps of a bulkhead built by `bulkhead()`. */
export function bulkheadHooks(policy: BulkheadPolicy): BulkheadHooks {
  return (policy as unknown as Record<symbol, BulkheadHooks>)[kHooks]!;
}
