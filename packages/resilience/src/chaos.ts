import type { ChaosEvent } from './events.js';
import type { ExecuteContext, Scope } from './internal/scope.js';
import { sleep } from './internal/sleep.js';
import {
  checkBoolean,
  checkFunction,
  checkKeys,
  checkNumber,
  checkObject,
  invalidOption,
  MAX_MS,
  optionalNumber,
  optionConflict,
} from './internal/validate.js';
import { brandPolicy, type Next, type Policy } from './policy.js';

function report(scope: Scope, fault: ChaosEvent['fault'], detail: unknown): void {
  const call = scope.call;
  if (!call.events.active) return;
  const base = { pipeline: call.pipeline, policy: 'chaos', kind: 'chaos', attempt: scope.attempt } as const;
  call.events.emit(
    fault === 'latency'
      ? { ...base, durationS: (detail as number) / 1000, fault, delayMs: detail as number }
      : fault === 'error'
        ? { ...base, durationS: 0, fault, error: detail }
        : { ...base, durationS: 0, fault },
  );
}

/** Options of the fault-injection policy. At least one of `error`, `latencyMs` and `result`. */
export interface ChaosOptions {
  /** The share of calls injected, from 0 to 1. */
  rate: number;
  /** Fail the call with this error, or the error this function returns. */
  error?: Error | ((ctx: ExecuteContext) => unknown);
  /** Delay the call this long first (an attempt timeout or a cancellation still ends the wait). */
  latencyMs?: number;
  /** Answer with what this function returns instead of calling through. */
  result?: (ctx: ExecuteContext) => unknown;
  /** Inject only when this says so (a header or metadata flag read from the context, say). @default always */
  when?: (ctx: ExecuteContext) => boolean;
  /** Inject even when `NODE_ENV` is `production` at construction. @default false */
  enabledInProduction?: boolean;
  /** The random source deciding each call, uniform in [0, 1). @default Math.random */
  random?: () => number;
}

/** The fault-injection policy. */
export interface ChaosPolicy extends Policy {
  readonly name: 'chaos';
  readonly rate: number;
  /** False when built with `NODE_ENV=production` without `enabledInProduction`: it then passes every call through. */
  readonly enabled: boolean;
}

const KNOWN = ['rate', 'error', 'latencyMs', 'result', 'when', 'enabledInProduction', 'random'] as const;

/**
 * Injects faults for tests and game days, as Polly's Simmy does: at `rate`, optionally only when `when`
 * says so, it adds latency, fails the call with an error, or answers with a substituted result, and
 * reports each with a `chaos` event. Never injects when `NODE_ENV` is `production` at construction,
 * unless `enabledInProduction` is true.
 *
 * @example
 * pipeline('inventory', compose(retry(), timeout(500), chaos({ rate: 0.1, latencyMs: 1_000 })));
 */
export function chaos(options: ChaosOptions, owner = 'chaos'): ChaosPolicy {
  const p = owner === 'chaos' ? '' : 'chaos.';
  checkKeys(
    owner,
    p,
    checkObject(owner, owner === 'chaos' ? 'options' : 'chaos', options, 'an options object'),
    KNOWN,
  );
  const rate = checkNumber(owner, `${p}rate`, options.rate, 0, 1, false);
  const latencyMs = optionalNumber(owner, `${p}latencyMs`, options.latencyMs, undefined, 0, MAX_MS);
  const given = options.error;
  if (given !== undefined && !(given instanceof Error) && typeof given !== 'function') {
    invalidOption(owner, `${p}error`, 'an Error or a function returning one', given);
  }
  const result = checkFunction<(ctx: ExecuteContext) => unknown>(owner, `${p}result`, options.result);
  if (given !== undefined && result !== undefined) {
    optionConflict(
      owner,
      `${p}error`,
      `${p}result`,
      'inject one outcome per policy, or compose two chaos policies',
    );
  }
  if (given === undefined && result === undefined && latencyMs === undefined) {
    invalidOption(owner, 'options', 'an object with at least one of error, latencyMs and result', options);
  }
  const when = checkFunction<(ctx: ExecuteContext) => boolean>(owner, `${p}when`, options.when);
  const random = checkFunction<() => number>(owner, `${p}random`, options.random) ?? Math.random;
  const inProduction = checkBoolean(owner, `${p}enabledInProduction`, options.enabledInProduction, false);
  const enabled = process.env.NODE_ENV !== 'production' || inProduction;

  function outcome(scope: Scope, next: Next): Promise<unknown> {
    if (given !== undefined) {
      const error = typeof given === 'function' ? given(scope) : given;
      report(scope, 'error', error);
      return Promise.reject(error);
    }
    if (result !== undefined) {
      report(scope, 'result', undefined);
      return Promise.resolve(result(scope));
    }
    return next(scope);
  }

  async function delayed(scope: Scope, next: Next): Promise<unknown> {
    report(scope, 'latency', latencyMs);
    await sleep(latencyMs as number, scope);
    return outcome(scope, next);
  }

  function run(scope: Scope, next: Next): Promise<unknown> {
    if ((when !== undefined && !when(scope)) || !(random() < rate)) return next(scope);
    return latencyMs === undefined ? outcome(scope, next) : delayed(scope, next);
  }

  return brandPolicy<ChaosPolicy>({
    name: 'chaos',
    rate,
    enabled,
    run: enabled ? run : (scope, next) => next(scope),
  });
}
