import type { PolicyName } from './events.js';
import type { Scope } from './internal/scope.js';

const kPolicy = Symbol.for('keel.resilience.policy');

/** Runs the rest of the chain inside a scope. */
export type Next = (scope: Scope) => Promise<unknown>;

/**
 * One resilience policy. Build them with the factories (`timeout`, `retry`, …) and combine them with
 * `compose` or the options of `pipeline`; the `run` method is the seam they compose through.
 */
export interface Policy {
  readonly name: PolicyName;
  /** Runs `next` under this policy. Internal: call `pipeline(...).execute` instead. */
  run(scope: Scope, next: Next): Promise<unknown>;
}

/** Marks an object as a policy so a `pipeline()` second argument can be told from an options object. */
export function brandPolicy<P extends Policy>(policy: P): P {
  Object.defineProperty(policy, kPolicy, { value: true });
  return policy;
}

/** True for objects built by this package's policy factories (any installed copy). */
export function isPolicy(value: unknown): value is Policy {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kPolicy] === true;
}
