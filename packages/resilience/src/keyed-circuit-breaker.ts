import {
  CIRCUIT_BREAKER_OPTION_KEYS,
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
  type CircuitState,
  circuitBreaker,
  keyBreaker,
} from './circuit-breaker.js';
import type { ExecuteContext, Scope } from './internal/scope.js';
import { checkFunction, checkKeys, invalidOption, optionalNumber } from './internal/validate.js';
import { brandPolicy, type Next, type Policy } from './policy.js';

/** Options of the per-key circuit breaker: a key function, a bound on keys, and each key's breaker options. */
export interface KeyedCircuitBreakerOptions extends CircuitBreakerOptions {
  /**
   * The key of a call (a host, a gRPC method, a tenant), read once per attempt before it is admitted. It
   * runs in the caller's async context, so it can read the caller's `AsyncLocalStorage`.
   */
  key: (ctx: ExecuteContext) => string;
  /** The most keys held; the least recently used key is dropped, with its state, beyond it. @default 1000 */
  maxKeys?: number;
}

/** A circuit breaker per key, least recently used keys evicted beyond `maxKeys`. */
export interface KeyedCircuitBreakerPolicy extends Policy {
  readonly name: 'keyed-circuit-breaker';
  readonly maxKeys: number;
  /** How many keys have a breaker now (at most `maxKeys`). */
  readonly size: number;
  /** The state of a key's circuit; `closed` for a key without a breaker (never seen, or evicted). */
  stateOf(key: string): CircuitState;
  /** The keys whose circuit is not closed, with their state, most recently used last. */
  notClosed(): [key: string, state: CircuitState][];
  /** Holds a key's circuit open until `reset(key)`. */
  isolate(key: string): void;
  /** Forgets a key's breaker (so its circuit is closed), or every key's without an argument. */
  reset(key?: string): void;
}

const OWN = ['key', 'maxKeys'] as const;

/**
 * One circuit breaker per key, so a failing host, method or tenant opens only its own circuit. Each key's
 * breaker is a `circuitBreaker` of the given options, made on the key's first call; beyond `maxKeys` the
 * least recently used key is dropped with its state. Compose it where a `circuitBreaker` would go; its
 * keys' circuit events carry the `key`.
 *
 * @example
 * const perHost = keyedCircuitBreaker({ key: () => currentHost.getStore() ?? 'unknown', maxKeys: 500 });
 * const api = pipeline('api', compose(retry(), perHost, timeout(2_000)));
 */
export function keyedCircuitBreaker(
  options: KeyedCircuitBreakerOptions,
  owner = 'keyedCircuitBreaker',
): KeyedCircuitBreakerPolicy {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    invalidOption(owner, 'options', 'an options object with a key function', options);
  }
  const { key: keyOf, maxKeys: givenMax, ...breakerOptions } = options;
  const key = checkFunction<(ctx: ExecuteContext) => string>(owner, 'key', keyOf);
  if (key === undefined) invalidOption(owner, 'key', 'a function of the call returning its key', keyOf);
  const maxKeys = optionalNumber(owner, 'maxKeys', givenMax, 1_000, 1, 1_000_000);
  checkKeys(owner, '', options, [...OWN, ...CIRCUIT_BREAKER_OPTION_KEYS]);
  // Each key's breaker is built from these options: build one now, so a bad option fails here.
  circuitBreaker(breakerOptions, owner);
  // A Map iterates in insertion order: re-inserting a key on use keeps the least recently used first.
  const breakers = new Map<string, CircuitBreakerPolicy>();

  function breakerOf(k: string): CircuitBreakerPolicy {
    let breaker = breakers.get(k);
    if (breaker === undefined) {
      breaker = keyBreaker(breakerOptions, owner, k);
      if (breakers.size >= maxKeys) breakers.delete(breakers.keys().next().value as string);
    } else {
      breakers.delete(k);
    }
    breakers.set(k, breaker);
    return breaker;
  }

  function run(scope: Scope, next: Next): Promise<unknown> {
    let k: unknown;
    try {
      k = key!(scope);
    } catch (error) {
      return Promise.reject(error);
    }
    if (typeof k !== 'string') {
      return Promise.reject(new TypeError(`${owner}: key must return a string, returned ${typeof k}`));
    }
    return breakerOf(k).run(scope, next);
  }

  return brandPolicy<KeyedCircuitBreakerPolicy>({
    name: 'keyed-circuit-breaker',
    maxKeys,
    get size() {
      return breakers.size;
    },
    stateOf(k: string): CircuitState {
      return breakers.get(k)?.state ?? 'closed';
    },
    notClosed() {
      const out: [string, CircuitState][] = [];
      for (const [k, breaker] of breakers) {
        const state = breaker.state;
        if (state !== 'closed') out.push([k, state]);
      }
      return out;
    },
    isolate(k: string) {
      breakerOf(k).isolate();
    },
    reset(k?: string) {
      if (k === undefined) breakers.clear();
      else breakers.delete(k);
    },
    run,
  });
}
