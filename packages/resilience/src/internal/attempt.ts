import { type BulkheadHooks, type BulkheadPolicy, bulkheadHooks } from '../bulkhead.js';
import { type BreakerHooks, breakerHooks, type CircuitBreakerPolicy } from '../circuit-breaker.js';
import { TimeoutError } from '../errors.js';
import type { Next } from '../policy.js';
import { now } from './clock.js';
import { Scope } from './scope.js';

/** What one physical attempt of a standard pipeline passes through: breaker → bulkhead → attempt timeout. */
export interface AttemptPlan {
  readonly breaker: BreakerHooks | undefined;
  readonly bulkhead: BulkheadHooks | undefined;
  readonly timeoutMs: number | undefined;
  readonly invoke: Next;
}

/**
 * One attempt as one promise: the breaker's and bulkhead's bookkeeping and the attempt timeout share a
 * single settle step instead of stacking an async layer each, which is most of a pipeline's cost.
 */
class Attempt extends Scope {
  resolve!: (value: unknown) => void;
  reject!: (reason: unknown) => void;
  timer: NodeJS.Timeout | undefined = undefined;
  settled = false;
  readonly startedAt: number;

  constructor(
    parent: Scope,
    deadline: number | undefined,
    readonly plan: AttemptPlan,
    readonly token: number,
    startedAt: number,
  ) {
    super(parent.call, parent, deadline);
    this.startedAt = startedAt;
  }

  #finish(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.release();
    this.plan.bulkhead?.leave();
    return true;
  }

  ok(value: unknown): void {
    if (!this.#finish()) return;
    this.plan.breaker?.settleResult(this, this.token, value);
    if (this.call.events.active) this.call.emit('pipeline', 'attempt', (now() - this.startedAt) / 1000);
    this.resolve(value);
  }

  fail(error: unknown): void {
    if (!this.#finish()) return;
    this.plan.breaker?.settleError(this, this.token, error);
    if (this.call.events.active)
      this.call.emit('pipeline', 'attempt', (now() - this.startedAt) / 1000, error);
    this.reject(error);
  }

  override abort(reason: Error): void {
    if (this.reason !== undefined) return;
    super.abort(reason);
    this.fail(reason);
  }
}

function expire(attempt: Attempt, budget: number, bound: TimeoutError['scope']): void {
  // Built only on expiry: capturing a stack on every call would cost more than the whole pipeline.
  const error = new TimeoutError(budget, bound, attempt.call.pipeline);
  attempt.call.emit('timeout', 'timeout', budget / 1000, error);
  attempt.abort(error);
}

function body(parent: Scope, plan: AttemptPlan, token: number): Promise<unknown> {
  const abortable = plan.timeoutMs !== undefined || parent.deadline !== undefined || parent.call.abortable;
  if (!abortable && !parent.call.events.active) {
    // Nothing can interrupt this attempt: settle straight off the user's promise.
    return settleDirect(parent, plan, token);
  }
  const start = now();
  let deadline = parent.deadline;
  let bound: TimeoutError['scope'] = 'deadline';
  if (plan.timeoutMs !== undefined && (deadline === undefined || start + plan.timeoutMs < deadline)) {
    deadline = start + plan.timeoutMs;
    bound = 'attempt';
  }
  return new Promise((resolve, reject) => {
    const attempt = new Attempt(parent, deadline, plan, token, start);
    attempt.resolve = resolve;
    attempt.reject = reject;
    if (parent.reason !== undefined) return attempt.abort(parent.reason);
    if (deadline !== undefined) {
      const budget = deadline - start;
      if (budget <= 0) return expire(attempt, 0, 'deadline');
      // A deadline inherited from the call is already guarded by the call's timer, which cascades here.
      if (bound === 'deadline' && parent.call.timer !== undefined) return void invokeInto(attempt);
      // A guard, not work: it must never keep the process alive by itself.
      attempt.timer = setTimeout(expire, budget, attempt, budget, bound);
      attempt.timer.unref();
    }
    invokeInto(attempt);
  });
}

function invokeInto(attempt: Attempt): void {
  attempt.plan.invoke(attempt).then(
    (value) => attempt.ok(value),
    (error: unknown) => attempt.fail(error),
  );
}

async function settleDirect(scope: Scope, plan: AttemptPlan, token: number): Promise<unknown> {
  let value: unknown;
  try {
    value = await plan.invoke(scope);
  } catch (error) {
    plan.bulkhead?.leave();
    plan.breaker?.settleError(scope, token, error);
    throw error;
  }
  plan.bulkhead?.leave();
  plan.breaker?.settleResult(scope, token, value);
  return value;
}

async function afterQueue(parent: Scope, plan: AttemptPlan, token: number): Promise<unknown> {
  try {
    await plan.bulkhead!.enter(parent);
  } catch (error) {
    plan.breaker?.release(token); // a local rejection is no verdict on the dependency
    throw error;
  }
  return body(parent, plan, token);
}

/** Builds the attempt step of a standard pipeline. */
export function attemptStep(
  breaker: CircuitBreakerPolicy | undefined,
  bulkhead: BulkheadPolicy | undefined,
  timeoutMs: number | undefined,
  invoke: Next,
): Next {
  const plan: AttemptPlan = {
    breaker: breaker && breakerHooks(breaker),
    bulkhead: bulkhead && bulkheadHooks(bulkhead),
    timeoutMs,
    invoke,
  };
  return (parent: Scope) => {
    let token = 0;
    if (plan.breaker !== undefined) {
      const admitted = plan.breaker.admit(parent);
      if (admitted === undefined) return plan.breaker.rejection(parent);
      token = admitted;
    }
    if (plan.bulkhead !== undefined && !plan.bulkhead.tryEnter()) return afterQueue(parent, plan, token);
    return body(parent, plan, token);
  };
}
