import { isCancelledError } from './errors.js';
import type { Scope } from './internal/scope.js';
import { brandPolicy, type Next, type Policy } from './policy.js';

/** A value, or a function of the failure that returns (or resolves to) one. */
export type FallbackValue = unknown | ((error: unknown) => unknown);

/** The fallback policy. */
export interface FallbackPolicy extends Policy {
  readonly name: 'fallback';
}

/**
 * Answers a failed call with `value` (or `value(error)`) instead of the error. A cancelled call is not
 * answered: the caller has gone, and a fallback would hide that.
 */
export function fallback(value: FallbackValue): FallbackPolicy {
  async function run(scope: Scope, next: Next): Promise<unknown> {
    try {
      return await next(scope);
    } catch (error) {
      if (isCancelledError(error)) throw error;
      scope.call.emit('fallback', 'fallback', 0, error);
      return typeof value === 'function' ? (value as (e: unknown) => unknown)(error) : value;
    }
  }
  return brandPolicy<FallbackPolicy>({ name: 'fallback', run });
}
