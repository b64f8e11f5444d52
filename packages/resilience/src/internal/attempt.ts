import { type BulkheadHooks, type BulkheadPolicy, bulkheadHooks } from '../bulkhead.js';
import { type BreakerHooks, breakerHooks, type CircuitBreakerPolicy } from '../circuit-breaker.js';
import { TimeoutError } from '../errors.js';
import type { Next } from '../policy.js';
import { now } from './clock.js';
import { DeadlineQueue, type Timed } from './deadline-queue.js';
import { runIn } from './run-in.js';
import { Scope } from './scope.js';
import type { StandardCall } from './standard-call.js';

/** Where an attempt, or a run of attempts, reports how it ended. */
export interface Settle {
  ok(value: unknown): void;
  fail(error: unknown): void;
}

/** What one physical attempt of a standard pipeline passes through: breaker → bulkhead → attempt timeout. */
export interface AttemptPlan {
  readonly breaker: BreakerHooks | undefined;
  readonly bulkhead: BulkheadHooks | undefined;
  readonly timeoutMs: number | undefined;
  /** Whether the breaker needs each attempt's duration (slow-call detection). */
  readonly timed: boolean;
  /** The attempt timeouts in flight, on one shared timer. */
  readonly timers: DeadlineQueue<Attempt>;
  readonly invoke: Next;
}

/**
 * One attempt, settled in one step: the breaker's and bulkhead's bookkeeping and the attempt timeout
 * share a single settle step instead of stacking an async layer each, which is most of a pipeline's cost.
 */
class Attempt extends Scope implements Timed {
  settled = false;
  timedPrev: Timed | undefined = undefined;
  timedNext: Timed | undefined = undefined;
  timedIn: object | undefined = undefined;

  constructor(
    parent: Scope,
    deadline: number | undefined,
    readonly plan: AttemptPlan,
    readonly token: number,
    readonly startedAt: number,
    readonly sink: Settle,
  ) {
    super(parent.call, parent, deadline);
  }

  #finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timedIn !== undefined) this.plan.timers.delete(this);
    this.release();
    this.plan.bulkhead?.leave();
    return true;
  }

  ok(value: unknown): void {
    if (!this.#finish()) return;
    if (!settled(this.plan.breaker?.settleResult, this, this.token, value, this.sink, this.startedAt)) return;
    if (this.call.events.active) this.call.emit('pipeline', 'attempt', (now() - this.startedAt) / 1000);
    this.sink.ok(value);
  }

  fail(error: unknown): void {
    if (!this.#finish()) return;
    if (!settled(this.plan.breaker?.settleError, this, this.token, error, this.sink, this.startedAt)) return;
    if (this.call.events.active)
      this.call.emit('pipeline', 'attempt', (now() - this.startedAt) / 1000, error);
    this.sink.fail(error);
  }

  override abort(reason: Error): void {
    if (this.reason !== undefined) return;
    super.abort(reason);
    this.fail(reason);
  }
}

/**
 * Runs the breaker's verdict on an outcome. A user's `failureOn` that throws fails the attempt with
 * what it threw, as it did when the attempt was an async function, instead of leaving the call hanging.
 */
function settled(
  verdict: ((scope: Scope, token: number, outcome: unknown, startedAt?: number) => void) | undefined,
  scope: Scope,
  token: number,
  outcome: unknown,
  sink: Settle,
  startedAt?: number,
): boolean {
  if (verdict === undefined) return true;
  try {
    verdict(scope, token, outcome, startedAt);
    return true;
  } catch (error) {
    sink.fail(error);
    return false;
  }
}

function expire(attempt: Attempt, budget: number, bound: TimeoutError['scope']): void {
  // Built only on expiry: capturing a stack on every call would cost more than the whole pipeline.
  const error = new TimeoutError(budget, bound, attempt.call.pipeline);
  attempt.call.emit('timeout', 'timeout', budget / 1000, error);
  attempt.abort(error);
}

function body(
  parent: Scope,
  plan: AttemptPlan,
  token: number,
  sink: Settle,
  start: number | undefined,
): void {
  const abortable = plan.timeoutMs !== undefined || parent.deadline !== undefined || parent.call.abortable;
  if (!abortable && !parent.call.events.active && !plan.timed) {
    // Nothing can interrupt this attempt and nobody needs its duration: settle straight off the user's promise.
    settleDirect(parent, plan, token, sink);
    return;
  }
  if (start === undefined) start = now();
  let deadline = parent.deadline;
  let bound: TimeoutError['scope'] = 'deadline';
  if (plan.timeoutMs !== undefined && (deadline === undefined || start + plan.timeoutMs < deadline)) {
    deadline = start + plan.timeoutMs;
    bound = 'attempt';
  }
  const attempt = new Attempt(parent, deadline, plan, token, start, sink);
  if (parent.reason !== undefined) attempt.abort(parent.reason);
  else if (deadline !== undefined && deadline <= start) expire(attempt, 0, 'deadline');
  else {
    // A deadline bound by the call's own is guarded by the call's timer, which cascades here.
    if (bound === 'attempt') plan.timers.add(attempt);
    invokeInto(attempt);
  }
}

function invokeInto(attempt: Attempt): void {
  attempt.plan.invoke(attempt).then(
    (value) => attempt.ok(value),
    (error: unknown) => attempt.fail(error),
  );
}

function settleDirect(scope: Scope, plan: AttemptPlan, token: number, sink: Settle): void {
  plan.invoke(scope).then(
    (value) => {
      plan.bulkhead?.leave();
      if (settled(plan.breaker?.settleResult, scope, token, value, sink)) sink.ok(value);
    },
    (error: unknown) => {
      plan.bulkhead?.leave();
      if (settled(plan.breaker?.settleError, scope, token, error, sink)) sink.fail(error);
    },
  );
}

function afterQueue(parent: Scope, plan: AttemptPlan, token: number, sink: Settle): void {
  plan.bulkhead!.enter(parent).then(
    () => body(parent, plan, token, sink, undefined),
    (error: unknown) => {
      plan.breaker?.release(token); // a local rejection is no verdict on the dependency
      sink.fail(error);
    },
  );
}

/** Builds the plan of a standard pipeline's attempts. */
export function attemptPlan(
  breaker: CircuitBreakerPolicy | undefined,
  bulkhead: BulkheadPolicy | undefined,
  timeoutMs: number | undefined,
  invoke: Next,
): AttemptPlan {
  return {
    breaker: breaker && breakerHooks(breaker),
    bulkhead: bulkhead && bulkheadHooks(bulkhead),
    timeoutMs,
    timed: breaker !== undefined && breaker.slowCallDurationThresholdMs !== undefined,
    // A shared timer fires in whichever context armed it: expire each attempt in its own, as its own
    // timer would have, so listeners see the call's span.
    timers: new DeadlineQueue<Attempt>((attempt) =>
      runIn((attempt.call as StandardCall).innerContext, expire, attempt, timeoutMs as number, 'attempt'),
    ),
    invoke,
  };
}

/**
 * Runs one attempt through the breaker, the bulkhead and the attempt timeout, and reports to `sink`.
 * `start` is the current instant when the caller has just read it, to save a clock read.
 */
export function attempt(parent: Scope, plan: AttemptPlan, sink: Settle, start: number | undefined): void {
  let token = 0;
  if (plan.breaker !== undefined) {
    const admitted = plan.breaker.admit(parent);
    if (admitted === undefined) {
      sink.fail(plan.breaker.refusal(parent));
      return;
    }
    token = admitted;
  }
  if (plan.bulkhead !== undefined && !plan.bulkhead.tryEnter()) afterQueue(parent, plan, token, sink);
  else body(parent, plan, token, sink, start);
}
