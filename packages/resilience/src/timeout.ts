import { context } from '@opentelemetry/api';
import { setDeadline } from './deadline.js';
import { TimeoutError } from './errors.js';
import { now } from './internal/clock.js';
import { type AbortListener, Scope } from './internal/scope.js';
import { checkNumber, MAX_MS } from './internal/validate.js';
import { brandPolicy, type Next, type Policy } from './policy.js';

/** A policy that bounds the time of what it wraps. */
export interface TimeoutPolicy extends Policy {
  readonly name: 'timeout' | 'total-timeout';
  /** The configured bound in milliseconds (a tighter inherited deadline still wins). */
  readonly ms: number;
}

class Race implements AbortListener {
  timer: NodeJS.Timeout | undefined = undefined;
  settled = false;
  constructor(
    readonly scope: Scope,
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
  ) {}

  onAbort(reason: Error): void {
    this.finish();
    this.reject(reason);
  }

  finish(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.scope.release();
  }
}

function expire(race: Race, budget: number, bound: TimeoutError['scope'], policy: TimeoutPolicy): void {
  // Built only on expiry: capturing a stack on every call would cost more than the rest of the pipeline.
  const error = new TimeoutError(budget, bound, race.scope.call.pipeline);
  race.scope.call.emit(policy.name, 'timeout', budget / 1000, error, undefined, race.scope.attempt);
  race.scope.abort(error); // aborts the signal, the children, then rejects through Race.onAbort
}

function build(name: 'timeout' | 'total-timeout', ms: number): TimeoutPolicy {
  checkNumber(name === 'timeout' ? 'timeout' : 'totalTimeout', 'argument ms', ms, 1, MAX_MS);
  const errorScope = name === 'timeout' ? 'attempt' : 'total';
  const policy: TimeoutPolicy = {
    name,
    ms,
    run(parent: Scope, next: Next): Promise<unknown> {
      const start = now();
      let deadline = start + ms;
      let bound: TimeoutError['scope'] = errorScope;
      const inherited = parent.deadline;
      if (inherited !== undefined && inherited < deadline) {
        deadline = inherited;
        bound = 'deadline';
      }
      const budget = deadline - start;
      if (budget <= 0) {
        const error = new TimeoutError(0, 'deadline', parent.call.pipeline);
        parent.call.emit(name, 'timeout', 0, error);
        return Promise.reject(error);
      }
      return new Promise((resolve, reject) => {
        const scope = new Scope(parent.call, parent, deadline);
        const race = new Race(scope, resolve, reject);
        scope.listen(race);
        // The timer only guards the work; it must never keep the process alive by itself.
        race.timer = setTimeout(expire, budget, race, budget, bound, policy);
        race.timer.unref();
        // The whole call's deadline rides in the context, so nested pipelines and adapters honour it.
        const work =
          name === 'total-timeout'
            ? context.with(setDeadline(context.active(), deadline), next, undefined, scope)
            : next(scope);
        work.then(
          (value) => {
            race.finish();
            resolve(value);
          },
          (error: unknown) => {
            race.finish();
            reject(error);
          },
        );
      });
    },
  };
  return brandPolicy(policy);
}

/**
 * Bounds each attempt (or whatever it wraps) to `ms` milliseconds, or less when the inherited deadline
 * is nearer. On expiry the attempt's `signal` aborts and the call rejects at once with a `TimeoutError`.
 */
export function timeout(ms: number): TimeoutPolicy {
  return build('timeout', ms);
}

/** Bounds the whole call, retries and backoff included, to `ms` milliseconds (or the inherited deadline). */
export function totalTimeout(ms: number): TimeoutPolicy {
  return build('total-timeout', ms);
}
