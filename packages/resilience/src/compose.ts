import type { Scope } from './internal/scope.js';
import { brandPolicy, type Next, type Policy } from './policy.js';

/** Policies run in order, the first outermost. */
export interface ComposedPolicy extends Policy {
  readonly name: 'pipeline';
  readonly policies: readonly Policy[];
}

/** Chains policies around `terminal` once, so a call allocates no closures to walk the chain. */
export function link(policies: readonly Policy[], terminal: Next): Next {
  let next = terminal;
  for (let i = policies.length - 1; i >= 0; i--) {
    const policy = policies[i]!;
    const inner = next;
    next = (scope: Scope) => policy.run(scope, inner);
  }
  return next;
}

/** Flattens nested compositions into one list of policies. */
export function flatten(policies: readonly Policy[]): Policy[] {
  return policies.flatMap((p) => ('policies' in p ? flatten((p as ComposedPolicy).policies) : [p]));
}

/**
 * Composes policies in the order given, outermost first, for when the standard order of `pipeline`
 * options does not fit. Pass the result to `pipeline(name, composed)`.
 *
 * @example
 * pipeline('search', compose(retry({ maxAttempts: 2 }), timeout(500)));
 */
export function compose(...policies: Policy[]): ComposedPolicy {
  const flat = flatten(policies);
  return brandPolicy<ComposedPolicy>({
    name: 'pipeline',
    policies: flat,
    run: (scope, next) => link(flat, next)(scope),
  });
}
