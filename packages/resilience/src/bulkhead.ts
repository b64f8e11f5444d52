import { BulkheadFullError } from './errors.js';
import type { AbortListener, Scope } from './internal/scope.js';
import { checkKeys, checkNumber, optionalNumber } from './internal/validate.js';
import { brandPolicy, type Next, type Policy } from './policy.js';

/** Options of the bulkhead. */
export interface BulkheadOptions {
  /** Calls allowed to run at once. */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot; more are rejected at once. @default 0 */
  maxQueue?: number;
}

/** The bulkhead policy, with its live counts for gauges. */
export interface BulkheadPolicy extends Policy {
  readonly name: 'bulkhead';
  readonly maxConcurrent: number;
  readonly maxQueue: number;
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

const KNOWN = ['maxConcurrent', 'maxQueue'] as const;

/**
 * Limits concurrent calls to `maxConcurrent`, queueing up to `maxQueue` more in arrival order. A queued
 * call leaves the queue the moment its signal, total timeout or deadline fires. Rejections
 * (`BulkheadFullError`) are local decisions, never counted as failures of the dependency.
 */
export function bulkhead(options: BulkheadOptions, owner = 'bulkhead'): BulkheadPolicy {
  const p = owner === 'bulkhead' ? '' : 'bulkhead.';
  checkKeys(owner, p, (options ?? {}) as unknown as Record<string, unknown>, KNOWN);
  const maxConcurrent = checkNumber(owner, `${p}maxConcurrent`, options?.maxConcurrent, 1, 1_000_000);
  const maxQueue = optionalNumber(owner, `${p}maxQueue`, options.maxQueue, 0, 0, 1_000_000);
  // A Set keeps arrival order and deletes in O(1), which an aborting waiter needs.
  const queue = new Set<Waiter>();
  let inFlight = 0;

  function leave(): void {
    inFlight--;
    for (const waiter of queue) {
      // Hand the slot straight to the next waiter, so a newcomer cannot overtake the queue.
      queue.delete(waiter);
      waiter.scope.unlisten(waiter);
      inFlight++;
      waiter.resolve();
      return;
    }
  }

  function tryEnter(): boolean {
    if (inFlight >= maxConcurrent) return false;
    inFlight++;
    return true;
  }

  /** Resolves once a slot is held (the caller must `leave()`), or rejects when full or aborted. */
  function enter(scope: Scope): Promise<void> {
    if (tryEnter()) return Promise.resolve();
    if (scope.reason !== undefined) return Promise.reject(scope.reason);
    if (queue.size >= maxQueue) {
      const error = new BulkheadFullError(maxConcurrent, maxQueue, scope.call.pipeline);
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

  function run(scope: Scope, next: Next): Promise<unknown> {
    return tryEnter() ? occupy(scope, next) : queued(scope, next);
  }

  return brandPolicy<BulkheadPolicy>({
    name: 'bulkhead',
    maxConcurrent,
    maxQueue,
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return queue.size;
    },
    run,
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
