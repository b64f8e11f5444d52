import { CircuitState as CockatielState, ConsecutiveBreaker, type IBreaker } from 'cockatiel';
import { CircuitOpenError, isLocalRejection } from './errors.js';
import type { ResilienceEvent } from './events.js';
import { now } from './internal/clock.js';
import type { Scope } from './internal/scope.js';
import { type BreakReason, SlidingWindowBreaker } from './internal/sliding-window.js';
import { checkFunction, checkKeys, MAX_MS, optionalNumber, optionConflict } from './internal/validate.js';
import { brandPolicy, type Next, type Policy } from './policy.js';
import type { Outcome } from './retry.js';

/** The state of a circuit. `isolated` is open by hand until `reset()`. */
export type CircuitState = 'closed' | 'open' | 'half-open' | 'isolated';

/**
 * Options of the circuit breaker. Give `consecutiveFailures` for the consecutive mode, or any of
 * `failureRatio`, `minimumThroughput`, `samplingDurationMs` for the ratio mode (the default).
 */
export interface CircuitBreakerOptions {
  /** Consecutive mode: open after this many failures in a row. */
  consecutiveFailures?: number;
  /** Ratio mode: open when more than this share of the attempts in the window failed. @default 0.5 */
  failureRatio?: number;
  /** Ratio mode: attempts the window must hold before the ratio counts. @default 20 */
  minimumThroughput?: number;
  /** Ratio mode: the sliding window, in ms. @default 30000 (at least twice the attempt timeout) */
  samplingDurationMs?: number;
  /**
   * Ratio mode: an attempt that takes longer than this (in ms) is a slow call, even when it succeeds; the
   * circuit also opens when the share of slow calls in the window exceeds `slowCallRateThreshold`.
   * @default undefined (slow calls do not count)
   */
  slowCallDurationThresholdMs?: number;
  /** Ratio mode: open when more than this share of the attempts in the window were slow. @default 0.5 */
  slowCallRateThreshold?: number;
  /** How long the circuit stays open before admitting probes. @default 5000 */
  breakDurationMs?: number;
  /** When above `breakDurationMs`, each consecutive re-open doubles the break up to this. @default breakDurationMs */
  maxBreakDurationMs?: number;
  /** Probes admitted while half-open; that many successes close the circuit. @default 1 */
  halfOpenProbes?: number;
  /** Which outcomes count as failures of the dependency. @default every error but local rejections and cancellation */
  failureOn?: (outcome: Outcome) => boolean;
}

/** The circuit breaker policy, with manual control. */
export interface CircuitBreakerPolicy extends Policy {
  readonly name: 'circuit-breaker';
  /** The current state; an open circuit whose break has elapsed reads as `half-open`. */
  readonly state: CircuitState;
  /** The ratio mode's sliding window, or undefined in consecutive mode. */
  readonly samplingDurationMs: number | undefined;
  /** The slow-call threshold in ms, or undefined when slow calls do not count. */
  readonly slowCallDurationThresholdMs: number | undefined;
  /** Holds the circuit open until `reset()`. */
  isolate(): void;
  /** Closes the circuit and forgets its history. */
  reset(): void;
}

/** The breaker's steps, so the pipeline can run them without an async layer of its own. */
export interface BreakerHooks {
  /** The slow-call threshold in ms: when set, `settle*` must be given the attempt's start instant. */
  readonly slowCallMs: number | undefined;
  admit(scope: Scope): number | undefined;
  rejection(scope: Scope): Promise<never>;
  /** The `CircuitOpenError` for a call `admit` refused (the reject event emitted). */
  refusal(scope: Scope): CircuitOpenError;
  settleError(scope: Scope, token: number, error: unknown, startedAt?: number): void;
  settleResult(scope: Scope, token: number, result: unknown, startedAt?: number): void;
  release(token: number): void;
}

const kHooks = Symbol('keel.breaker.hooks');

/** The options `circuitBreaker` knows, for the policies that build on it. */
export const CIRCUIT_BREAKER_OPTION_KEYS = [
  'consecutiveFailures',
  'failureRatio',
  'minimumThroughput',
  'samplingDurationMs',
  'slowCallDurationThresholdMs',
  'slowCallRateThreshold',
  'breakDurationMs',
  'maxBreakDurationMs',
  'halfOpenProbes',
  'failureOn',
] as const;

/**
 * Stops calling a failing dependency. Consecutive counting is cockatiel's `ConsecutiveBreaker`; ratio
 * counting is our sliding window in cockatiel's `IBreaker` shape (cockatiel's `SamplingBreaker` keeps
 * failures that aged out in a gap, and no `IBreaker` can open on a success, which a slow one must);
 * the state machine is ours, because a half-open circuit must reject non-probe calls at once with a
 * retry-after hint instead of queueing them behind the probe, and local rejections must not count.
 */
export function circuitBreaker(
  options: CircuitBreakerOptions = {},
  owner = 'circuitBreaker',
): CircuitBreakerPolicy {
  return keyBreaker(options, owner, undefined);
}

/** A circuit breaker whose events name `key`: one key's breaker of a `keyedCircuitBreaker`. */
export function keyBreaker(
  options: CircuitBreakerOptions,
  owner: string,
  key: string | undefined,
): CircuitBreakerPolicy {
  const p = owner === 'circuitBreaker' || owner === 'keyedCircuitBreaker' ? '' : 'circuitBreaker.';
  checkKeys(owner, p, options as Record<string, unknown>, CIRCUIT_BREAKER_OPTION_KEYS);
  const consecutiveMode = options.consecutiveFailures !== undefined;
  if (
    consecutiveMode &&
    (options.failureRatio !== undefined ||
      options.minimumThroughput !== undefined ||
      options.samplingDurationMs !== undefined ||
      options.slowCallDurationThresholdMs !== undefined ||
      options.slowCallRateThreshold !== undefined)
  ) {
    optionConflict(
      owner,
      `${p}consecutiveFailures`,
      `${p}failureRatio, ${p}minimumThroughput, ${p}samplingDurationMs or ${p}slowCall*`,
      'choose one mode (slow calls count in the ratio mode only)',
    );
  }
  let breaker: IBreaker;
  let window: SlidingWindowBreaker | undefined;
  let samplingDurationMs: number | undefined;
  let slowCallMs: number | undefined;
  if (consecutiveMode) {
    breaker = new ConsecutiveBreaker(
      optionalNumber(owner, `${p}consecutiveFailures`, options.consecutiveFailures, 5, 1, 10_000),
    );
  } else {
    const ratio = optionalNumber(owner, `${p}failureRatio`, options.failureRatio, 0.5, 0.001, 0.999, false);
    const minimumThroughput = optionalNumber(
      owner,
      `${p}minimumThroughput`,
      options.minimumThroughput,
      20,
      1,
      1_000_000,
    );
    samplingDurationMs = optionalNumber(
      owner,
      `${p}samplingDurationMs`,
      options.samplingDurationMs,
      30_000,
      1_000,
      3_600_000,
    );
    slowCallMs = optionalNumber(
      owner,
      `${p}slowCallDurationThresholdMs`,
      options.slowCallDurationThresholdMs,
      undefined,
      1,
      MAX_MS,
    );
    if (slowCallMs === undefined && options.slowCallRateThreshold !== undefined) {
      throw new TypeError(
        `${owner}: option ${p}slowCallRateThreshold needs ${p}slowCallDurationThresholdMs; set how long an attempt may take before it counts as slow`,
      );
    }
    const slowRatio =
      slowCallMs === undefined
        ? undefined
        : optionalNumber(
            owner,
            `${p}slowCallRateThreshold`,
            options.slowCallRateThreshold,
            0.5,
            0.001,
            0.999,
            false,
          );
    breaker = window = new SlidingWindowBreaker(ratio, minimumThroughput, samplingDurationMs, slowRatio);
  }
  const breakDurationMs = optionalNumber(
    owner,
    `${p}breakDurationMs`,
    options.breakDurationMs,
    5_000,
    1,
    MAX_MS,
  );
  const maxBreakDurationMs = optionalNumber(
    owner,
    `${p}maxBreakDurationMs`,
    options.maxBreakDurationMs,
    breakDurationMs,
    breakDurationMs,
    MAX_MS,
  );
  const probes = optionalNumber(owner, `${p}halfOpenProbes`, options.halfOpenProbes, 1, 1, 1_000);
  const failureOn = checkFunction<(o: Outcome) => boolean>(owner, `${p}failureOn`, options.failureOn);

  let state: CircuitState = 'closed';
  let openUntil = 0;
  let currentBreakMs = breakDurationMs;
  let probesInFlight = 0;
  let probeSuccesses = 0;
  // Bumped on every transition: a call admitted under an older state must not sway the new one.
  let generation = 0;

  const isFailure = (error: unknown): boolean => {
    if (isLocalRejection(error)) return false;
    return failureOn === undefined ? true : failureOn({ ok: false, error });
  };

  function open(scope: Scope, error: unknown, reopen: boolean, reason: BreakReason): void {
    currentBreakMs = reopen ? Math.min(maxBreakDurationMs, currentBreakMs * 2) : breakDurationMs;
    state = 'open';
    openUntil = now() + currentBreakMs;
    generation++;
    const call = scope.call;
    if (!call.events.active) return;
    call.events.emit({
      pipeline: call.pipeline,
      policy: 'circuit-breaker',
      kind: 'break',
      attempt: call.attemptNumber,
      durationS: 0,
      ...(error === undefined ? {} : { error }),
      delayMs: currentBreakMs,
      reason,
      ...(key === undefined ? {} : { key }),
    });
  }

  function emit(scope: Scope, kind: 'half-open' | 'reset' | 'reject', error?: unknown): void {
    const call = scope.call;
    if (key === undefined) {
      call.emit('circuit-breaker', kind, 0, error);
      return;
    }
    if (!call.events.active) return;
    call.events.emit({
      pipeline: call.pipeline,
      policy: 'circuit-breaker',
      kind,
      attempt: call.attemptNumber,
      durationS: 0,
      ...(error === undefined ? {} : { error }),
      key,
    } as ResilienceEvent);
  }

  function close(scope: Scope | undefined): void {
    state = 'closed';
    generation++;
    currentBreakMs = breakDurationMs;
    probesInFlight = 0;
    probeSuccesses = 0;
    breaker.success(CockatielState.HalfOpen); // clears the counting window
    if (scope !== undefined) emit(scope, 'reset');
  }

  function reject(
    scope: Scope,
    which: CircuitOpenError['state'],
    retryAfterMs: number | undefined,
  ): CircuitOpenError {
    const error = new CircuitOpenError(which, retryAfterMs, scope.call.pipeline);
    emit(scope, 'reject', error);
    return error;
  }

  // Admission tokens: a generation number, negated (minus one) for a half-open probe.
  // A probe slower than the threshold re-opens the circuit: the dependency has not recovered yet.
  function settle(
    scope: Scope,
    token: number,
    failed: boolean,
    error: unknown,
    startedAt: number | undefined,
  ): void {
    const probe = token < 0;
    if ((probe ? -token - 1 : token) !== generation) return;
    if (probe) probesInFlight--;
    const slow = slowCallMs !== undefined && startedAt !== undefined && now() - startedAt > slowCallMs;
    if (probe) {
      if (failed || slow) open(scope, error, true, failed ? 'failures' : 'slow-calls');
      else if (++probeSuccesses >= probes) close(scope);
      return;
    }
    if (window !== undefined) {
      const reason = window.record(failed, slow);
      if (reason !== undefined) open(scope, error, false, reason);
    } else if (!failed) breaker.success(CockatielState.Closed);
    else if (breaker.failure(CockatielState.Closed)) open(scope, error, false, 'failures');
  }

  /** Ends an admitted call that has no verdict (cancelled, or rejected locally), freeing a probe slot. */
  function release(token: number): void {
    if (token < 0 && -token - 1 === generation) probesInFlight--;
  }

  function settleError(scope: Scope, token: number, error: unknown, startedAt?: number): void {
    if (isFailure(error)) settle(scope, token, true, error, startedAt);
    else release(token);
  }

  function settleResult(scope: Scope, token: number, result: unknown, startedAt?: number): void {
    settle(scope, token, failureOn?.({ ok: true, result }) === true, undefined, startedAt);
  }

  /** Returns an admission token, or undefined when the call must be rejected (see `rejection`). */
  function admit(scope: Scope): number | undefined {
    if (state === 'closed') return generation;
    if (state === 'isolated') return undefined;
    if (state === 'open') {
      if (openUntil > now()) return undefined;
      state = 'half-open';
      generation++;
      probesInFlight = 0;
      probeSuccesses = 0;
      emit(scope, 'half-open');
    }
    if (probesInFlight + probeSuccesses >= probes) return undefined;
    probesInFlight++;
    return -generation - 1;
  }

  function refusal(scope: Scope): CircuitOpenError {
    if (state === 'isolated') return reject(scope, 'isolated', undefined);
    if (state === 'open') return reject(scope, 'open', Math.max(1, Math.ceil(openUntil - now())));
    return reject(scope, 'half-open', currentBreakMs);
  }

  function rejection(scope: Scope): Promise<never> {
    return Promise.reject(refusal(scope));
  }

  async function guarded(scope: Scope, next: Next, token: number): Promise<unknown> {
    const reached = scope.call.invocations;
    const startedAt = slowCallMs === undefined ? undefined : now();
    let result: unknown;
    try {
      result = await next(scope);
    } catch (error) {
      // A call that never reached the dependency (timed out in a queue, say) says nothing about it.
      if (scope.call.invocations === reached) release(token);
      else settleError(scope, token, error, startedAt);
      throw error;
    }
    settleResult(scope, token, result, startedAt);
    return result;
  }

  function run(scope: Scope, next: Next): Promise<unknown> {
    const token = admit(scope);
    return token === undefined ? rejection(scope) : guarded(scope, next, token);
  }

  const hooks: BreakerHooks = { slowCallMs, admit, rejection, refusal, settleError, settleResult, release };
  return brandPolicy<CircuitBreakerPolicy>({
    name: 'circuit-breaker',
    samplingDurationMs,
    slowCallDurationThresholdMs: slowCallMs,
    get state(): CircuitState {
      return state === 'open' && openUntil <= now() ? 'half-open' : state;
    },
    isolate() {
      state = 'isolated';
      generation++;
    },
    reset() {
      close(undefined);
    },
    run,
    [kHooks]: hooks,
  } as CircuitBreakerPolicy);
}

/** The breaker's steps, for the pipeline's fused attempt path. */
export function breakerHooks(policy: CircuitBreakerPolicy): BreakerHooks {
  return (policy as unknown as Record<symbol, BreakerHooks>)[kHooks]!;
}
