import { context } from '@opentelemetry/api';
import type { BulkheadOptions, BulkheadPolicy } from './bulkhead.js';
import type { ChaosOptions } from './chaos.js';
import type { CircuitBreakerOptions, CircuitBreakerPolicy, CircuitState } from './circuit-breaker.js';
import { flatten, link } from './compose.js';
import { getDeadline, setDeadline } from './deadline.js';
import { CancelledError, TimeoutError } from './errors.js';
import { type Disposer, EventChannel, type ResilienceListener } from './events.js';
import type { FallbackValue } from './fallback.js';
import type { HedgeOptions } from './hedge.js';
import { attemptPlan } from './internal/attempt.js';
import { now } from './internal/clock.js';
import { ensureContextManager } from './internal/context-manager.js';
import { DeadlineQueue } from './internal/deadline-queue.js';
import { expireCall, guard, invoke, invokeFn, raceRoot } from './internal/invoke.js';
import { resolvePolicies } from './internal/resolve-options.js';
import { runIn } from './internal/run-in.js';
import { Call, type ExecuteContext, type Scope } from './internal/scope.js';
import { StandardCall, standardLaunch } from './internal/standard-call.js';
import { checkObject, invalidOption } from './internal/validate.js';
import type { KeyedCircuitBreakerPolicy } from './keyed-circuit-breaker.js';
import { isPolicy, type Policy } from './policy.js';
import type { RateLimitOptions } from './rate-limit.js';
import { announce, assertNameFree, retire } from './registry.js';
import { type RetryOptions, type RetryPolicy, retryHooks } from './retry.js';
import type { RetryBudget } from './retry-budget.js';
import type { TimeoutPolicy } from './timeout.js';

/**
 * The standard pipeline, from one options object. Every key is optional and `false` turns a policy
 * off. Order, outer to inner: fallback → rate limit → total timeout → retry → hedge → circuit breaker →
 * bulkhead → attempt timeout → chaos → your function.
 */
export interface PipelineOptions {
  /** Per-attempt timeout in ms. @default 10000 */
  timeout?: number | false;
  /** Timeout of the whole call, retries included, in ms. @default 30000 */
  totalTimeout?: number | false;
  /** @default {} (3 attempts, full-jitter backoff from 100 ms to 5 s, a retry budget of half the successes) */
  retry?: RetryOptions | false;
  /** @default {} (opens above 50 % failed attempts over 30 s with at least 20 attempts, for 5 s, one probe) */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** `{ maxConcurrent }`, or `{ adaptive: { algorithm, minLimit, maxLimit, ... } }` for a limit that adapts. @default false */
  bulkhead?: BulkheadOptions | false;
  /** @default false */
  rateLimit?: RateLimitOptions | false;
  /** A value, or a function of the error, that answers for a failed call. @default none */
  fallback?: FallbackValue;
  /**
   * Hedging for idempotent calls with a long tail: another attempt in parallel after a delay. It draws on
   * the retry's budget. @default false
   */
  hedge?: HedgeOptions | false;
  /** Fault injection for tests and game days, innermost; never active under `NODE_ENV=production` unless enabled. @default false */
  chaos?: ChaosOptions | false;
}

/** Options of one `execute` call. */
export interface ExecuteOptions {
  /** Cancels the call: waits end at once, the attempt's signal aborts, and the call rejects with `CancelledError`. */
  signal?: AbortSignal;
  /**
   * `false` sends the call at most once: no outcome of it is retried, whatever `retryOn` says (a success
   * still credits the retry budget). For operations that are unsafe to repeat, decided per call. @default true
   */
  idempotent?: boolean;
}

/** Live numbers of a pipeline, for gauges and health checks. */
export interface PipelineStats {
  /** Calls inside `execute` now. */
  readonly inFlight: number;
  readonly circuitState: CircuitState | undefined;
  readonly bulkheadInFlight: number | undefined;
  readonly bulkheadQueued: number | undefined;
  /** An adaptive bulkhead's limit now (calls allowed at once); undefined without one. */
  readonly concurrencyLimit: number | undefined;
  readonly budgetTokens: number | undefined;
  /**
   * A composed `keyedCircuitBreaker`'s keys: how many it holds, and those whose circuit is not closed with
   * their state (most recently used last); undefined without one.
   */
  readonly circuitKeys: CircuitKeyStats | undefined;
}

/** The keys of a keyed circuit breaker, for gauges. */
export interface CircuitKeyStats {
  readonly size: number;
  readonly notClosed: readonly (readonly [key: string, state: CircuitState])[];
}

/** A named chain of policies that calls run through. */
export interface Pipeline {
  readonly name: string;
  /** The policies, outermost first. */
  readonly policies: readonly Policy[];
  /**
   * Runs `fn` through the policies. `fn` receives `{ signal, attempt, deadline }`; pass `signal` on to
   * the I/O so timeouts and cancellation stop it.
   */
  execute<T>(fn: (ctx: ExecuteContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T>;
  /** The circuit's state, or undefined without a breaker. */
  readonly circuitState: CircuitState | undefined;
  /** Holds the circuit open until `reset()`. */
  isolate(): void;
  /** Closes the circuit. */
  reset(): void;
  /** Subscribes to every decision of every policy; returns the unsubscriber. */
  onEvent(listener: ResilienceListener): Disposer;
  readonly stats: PipelineStats;
  /** Rejects new calls, aborts those in flight (their waits end at once), forgets the pipeline and frees its name. */
  dispose(): void;
}

const NAME = /^[A-Za-z0-9._:/-]{1,128}$/;

/**
 * Creates a named pipeline from options (the standard order and defaults of DESIGN §4) or from a policy
 * built with `compose`. `name` labels metrics and spans: keep it low-cardinality (the destination). A
 * name belongs to one live pipeline: a second one of the same name throws until the first is disposed.
 *
 * @example
 * const payments = pipeline('payments', { timeout: 2_000, retry: { maxAttempts: 3 } });
 * const charge = await payments.execute(({ signal }) => fetch(url, { signal }));
 */
export function pipeline(name: string, options: PipelineOptions | Policy = {}): Pipeline {
  return createPipeline(name, options, true);
}

/**
 * `pipeline()`, optionally left out of the registry (a reloadable pipeline registers its stable facade
 * instead) and reusing a circuit breaker, so a reload keeps the breaker's state.
 */
export function createPipeline(
  name: string,
  options: PipelineOptions | Policy,
  registered: boolean,
  breakerToKeep?: CircuitBreakerPolicy,
): Pipeline {
  if (typeof name !== 'string' || !NAME.test(name)) {
    invalidOption('pipeline', 'argument name', '1 to 128 characters of [A-Za-z0-9._:/-]', name);
  }
  if (registered) assertNameFree(name);
  const owner = `pipeline "${name}"`;
  const custom = isPolicy(options);
  const policies = custom
    ? flatten([options])
    : resolvePolicies(owner, checkObject(owner, 'options', options), breakerToKeep);
  ensureContextManager();
  const events = new EventChannel();
  const find = <P extends Policy>(policyName: string) => policies.find((p): p is P => p.name === policyName);
  const breaker = find<CircuitBreakerPolicy>('circuit-breaker');
  const keyed = find<KeyedCircuitBreakerPolicy>('keyed-circuit-breaker');
  const limiter = find<BulkheadPolicy>('bulkhead');
  const budget: RetryBudget | undefined = find<RetryPolicy>('retry')?.budget;
  // A composed pipeline runs its chain of policies (`run`); the standard one is launched fused, unless it
  // hedges (parallel attempts of one call) or injects faults: those run through the policies' own `run`.
  // An adaptive bulkhead learns from each attempt's latency and outcome, which its own `run` observes.
  const fused =
    !custom &&
    find('hedge') === undefined &&
    find('chaos') === undefined &&
    limiter?.concurrencyLimit === undefined;
  const chain: (scope: Scope) => Promise<unknown> = fused ? invoke : link(policies, invoke);
  let launch: ((call: StandardCall) => void) | undefined;
  let totalMs: number | undefined;
  if (fused) {
    // The standard order runs fused: the total timeout is the call's own deadline, and breaker,
    // bulkhead and attempt timeout settle in one step per attempt.
    totalMs = find<TimeoutPolicy>('total-timeout')?.ms;
    const retryPolicy = find<RetryPolicy>('retry');
    launch = standardLaunch(
      policies.filter((p) => p.name === 'fallback' || p.name === 'rate-limit'),
      retryPolicy && retryHooks(retryPolicy),
      attemptPlan(breaker, limiter, find<TimeoutPolicy>('timeout')?.ms, invokeFn),
    );
  }
  // The total timeouts of calls in flight, on one shared timer: each is `totalMs` long.
  // The shared timer fires in whichever context armed it; expire each call in its caller's, as before.
  const totalTimers = new DeadlineQueue<StandardCall>((call) =>
    runIn(call.context, expireCall, call, totalMs as number, 'total'),
  );
  let head: Call | undefined;
  let inFlight = 0;
  let disposed = false;

  function enter(call: Call): void {
    inFlight++;
    call.next = head;
    if (head !== undefined) head.prev = call;
    head = call;
  }

  function leave(call: Call): void {
    inFlight--;
    if (call.prev !== undefined) call.prev.next = call.next;
    else head = call.next;
    if (call.next !== undefined) call.next.prev = call.prev;
  }

  function done(call: StandardCall): void {
    if (call.timedIn !== undefined) totalTimers.delete(call);
    if (call.timer !== undefined) clearTimeout(call.timer);
    if (call.onCallerAbort !== undefined) call.callerSignal?.removeEventListener('abort', call.onCallerAbort);
    leave(call);
  }

  async function run(call: Call, signal: AbortSignal | undefined): Promise<unknown> {
    enter(call);
    let onAbort: (() => void) | undefined;
    if (signal !== undefined) {
      onAbort = () => call.abort(new CancelledError('cancelled by the caller', name, signal.reason));
      signal.addEventListener('abort', onAbort, { once: true });
    }
    try {
      const work = chain(call);
      // The fused path listens for aborts at every wait; a composed chain may not, so race it here.
      const value = await (call.deadline !== undefined || signal !== undefined ? raceRoot(call, work) : work);
      if (call.events.active) call.emit('pipeline', 'success', (now() - call.startedAt) / 1000);
      return value;
    } catch (error) {
      if (call.events.active) call.emit('pipeline', 'failure', (now() - call.startedAt) / 1000, error);
      throw error;
    } finally {
      if (call.timer !== undefined) clearTimeout(call.timer);
      if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
      leave(call);
    }
  }

  const self: Pipeline = {
    name,
    policies,
    execute<T>(fn: (ctx: ExecuteContext) => T | PromiseLike<T>, options?: ExecuteOptions): Promise<T> {
      if (disposed) return Promise.reject(new CancelledError('pipeline disposed', name));
      const ctx = context.active();
      const inherited = getDeadline(ctx);
      let deadline = inherited;
      const start = now();
      if (inherited !== undefined && inherited <= start) {
        const error = new TimeoutError(0, 'deadline', name);
        if (events.active) {
          events.emit({
            pipeline: name,
            policy: 'pipeline',
            kind: 'timeout',
            attempt: 0,
            durationS: 0,
            error,
          });
        }
        return Promise.reject(error);
      }
      if (totalMs !== undefined && (deadline === undefined || start + totalMs < deadline))
        deadline = start + totalMs;
      const signal = options?.signal;
      if (signal?.aborted)
        return Promise.reject(new CancelledError('cancelled by the caller', name, signal.reason));
      if (launch === undefined) {
        const call = new Call(name, events, fn, deadline, signal !== undefined, start);
        if (options?.idempotent === false) call.idempotent = false;
        if (deadline !== undefined) guard(call, deadline - start, deadline === inherited);
        return (
          deadline === inherited
            ? run(call, signal)
            : context.with(setDeadline(ctx, deadline!), run, undefined, call, signal)
        ) as Promise<T>;
      }
      const call = new StandardCall(name, events, fn, deadline, signal !== undefined, start);
      if (options?.idempotent === false) call.idempotent = false;
      const promise = call.promise() as Promise<T>;
      call.done = done;
      call.context = ctx;
      call.innerContext = deadline === inherited ? ctx : setDeadline(ctx, deadline!);
      enter(call);
      if (signal !== undefined) {
        call.callerSignal = signal;
        call.onCallerAbort = () =>
          call.abort(new CancelledError('cancelled by the caller', name, signal.reason));
        signal.addEventListener('abort', call.onCallerAbort, { once: true });
      }
      if (deadline !== undefined) {
        if (deadline === inherited) guard(call, deadline - start, true);
        else totalTimers.add(call);
      }
      // The call's deadline (inherited, or tightened by the total timeout) rides in the context so nested
      // pipelines and adapters honour it; an attempt's tighter bound is `ctx.deadline` for the adapter to send.
      if (deadline === inherited) launch(call);
      else context.with(call.innerContext, launch, undefined, call);
      return promise;
    },
    get circuitState() {
      return breaker?.state;
    },
    isolate() {
      breaker?.isolate();
      if (breaker && events.active) {
        events.emit({ pipeline: name, policy: 'circuit-breaker', kind: 'isolate', attempt: 0, durationS: 0 });
      }
    },
    reset() {
      breaker?.reset();
      if (breaker && events.active) {
        events.emit({ pipeline: name, policy: 'circuit-breaker', kind: 'reset', attempt: 0, durationS: 0 });
      }
    },
    onEvent: (listener) => events.subscribe(listener),
    get stats(): PipelineStats {
      return {
        inFlight,
        circuitState: breaker?.state,
        bulkheadInFlight: limiter?.inFlight,
        bulkheadQueued: limiter?.queued,
        concurrencyLimit: limiter?.concurrencyLimit,
        budgetTokens: budget?.tokens,
        circuitKeys: keyed && { size: keyed.size, notClosed: keyed.notClosed() },
      };
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      if (registered) retire(self);
      for (let call = head; call !== undefined; call = call.next) {
        call.abort(new CancelledError('pipeline disposed', name));
      }
    },
  };
  if (registered) announce(self);
  return self;
}
