import type { BulkheadFullError, CircuitOpenError, RateLimitedError, TimeoutError } from './errors.js';

/** The policy that made a decision. `pipeline` is the call as a whole. */
export type PolicyName =
  | 'pipeline'
  | 'rate-limit'
  | 'total-timeout'
  | 'retry'
  | 'circuit-breaker'
  | 'keyed-circuit-breaker'
  | 'bulkhead'
  | 'timeout'
  | 'fallback'
  | 'hedge'
  | 'chaos';

/** What every event carries. */
interface EventBase<K extends string, P extends PolicyName> {
  readonly pipeline: string;
  /** The policy that decided. */
  readonly policy: P;
  /** What happened; narrow on it to reach the fields of that event. */
  readonly kind: K;
  /** The attempt the decision concerns, from 1; 0 for a decision outside any call. */
  readonly attempt: number;
  /** Seconds the decision concerns: the attempt, the call, the time a timeout allowed, or 0. */
  readonly durationS: number;
}

// Declared absent rather than left out, so code handling any event can still read `e.error` and
// `e.delayMs` (as `unknown` and `number | undefined`) without narrowing first.
interface NoError {
  readonly error?: undefined;
}
interface NoDelay {
  readonly delayMs?: undefined;
}

/** A failed attempt (or a result `retryOn` refused) will be retried after `delayMs`. */
export interface RetryEvent extends EventBase<'retry', 'retry'> {
  /** The attempt's failure; absent when a result was retried. */
  readonly error?: unknown;
  /** The wait before the next attempt, in ms. */
  readonly delayMs: number;
}

/** Retries stopped: attempts spent, or the next wait would overrun the deadline. */
export interface GiveUpEvent extends EventBase<'give-up', 'retry'> {
  /** The last attempt's failure; absent when a result was retried. */
  readonly error?: unknown;
  /** The wait that would have overrun the deadline, when that was the reason. */
  readonly delayMs?: number;
}

/** The retry budget refused a retry (`retry`) or a hedged attempt (`hedge`). */
export interface BudgetExhaustedEvent extends EventBase<'budget-exhausted', 'retry' | 'hedge'>, NoDelay {
  /** The last attempt's failure; absent when a result was retried, and for a refused hedge. */
  readonly error?: unknown;
}

/** The hedge started another attempt in parallel (`attempt` is its number) after `delayMs` without an answer. */
export interface HedgeEvent extends EventBase<'hedge', 'hedge'>, NoError {
  /** How long the hedge waited, since the previous attempt started, before starting this one, in ms. */
  readonly delayMs: number;
}

/**
 * A hedged call was answered: `attempt` is the number of the attempt whose result won (the first one when
 * the hedges were wasted), `durationS` the time from the first attempt's start. Only when a hedge started.
 */
export interface HedgeWonEvent extends EventBase<'hedge-won', 'hedge'>, NoError, NoDelay {}

/** An attempt (`timeout`), the call (`total-timeout`) or the inherited deadline (`pipeline`) ran out. */
export interface TimeoutEvent
  extends EventBase<'timeout', 'timeout' | 'total-timeout' | 'pipeline'>,
    NoDelay {
  readonly error: TimeoutError;
}

/** The circuit opened for `delayMs`, because of failures or of slow calls (`reason`). */
export interface BreakEvent extends EventBase<'break', 'circuit-breaker'> {
  /** The failure that opened it; absent when `failureOn` counted a result as one, or a slow success opened it. */
  readonly error?: unknown;
  /** How long the circuit stays open, in ms. */
  readonly delayMs: number;
  /**
   * Why: `failures` (the failure ratio, consecutive failures or a failed probe) or `slow-calls` (the
   * slow-call ratio, or a slow probe).
   */
  readonly reason: 'failures' | 'slow-calls';
  /** The key whose circuit opened, for a `keyedCircuitBreaker`. */
  readonly key?: string;
}

/** The circuit admits probes (`half-open`), closed again (`reset`), or was isolated by hand (`isolate`). */
export interface CircuitEvent
  extends EventBase<'half-open' | 'reset' | 'isolate', 'circuit-breaker'>,
    NoError,
    NoDelay {
  /** The key whose circuit this is, for a `keyedCircuitBreaker`. */
  readonly key?: string;
}

/** The circuit, the bulkhead or the rate limiter refused a call; `error` is what the call rejects with. */
export type RejectEvent =
  | (EventBase<'reject', 'circuit-breaker'> &
      NoDelay & { readonly error: CircuitOpenError; readonly key?: string })
  | (EventBase<'reject', 'bulkhead'> & NoDelay & { readonly error: BulkheadFullError })
  | (EventBase<'reject', 'rate-limit'> & NoDelay & { readonly error: RateLimitedError });

/** The bulkhead queued a call. */
export interface QueuedEvent extends EventBase<'queued', 'bulkhead'>, NoError, NoDelay {}

/**
 * An adaptive bulkhead's limit moved materially (by at least 10 % and 1 since the last one reported); at
 * most one a second per bulkhead, so the last change may go unreported: read the limit from `stats`.
 */
export interface LimitEvent extends EventBase<'limit', 'bulkhead'>, NoError, NoDelay {
  /** The limit last reported (the initial limit for the first event). */
  readonly previousLimit: number;
  /** Calls allowed at once from now on. */
  readonly limit: number;
}

/** The fallback answered for a failed call. */
export interface FallbackEvent extends EventBase<'fallback', 'fallback'>, NoDelay {
  /** The failure it answered for. */
  readonly error: unknown;
}

/** The chaos policy injected a fault: added latency (`delayMs`), an error (`error`) or a substituted result. */
export type ChaosEvent =
  | (EventBase<'chaos', 'chaos'> & NoError & { readonly fault: 'latency'; readonly delayMs: number })
  | (EventBase<'chaos', 'chaos'> & NoDelay & { readonly fault: 'error'; readonly error: unknown })
  | (EventBase<'chaos', 'chaos'> & NoError & NoDelay & { readonly fault: 'result' });

/** One physical attempt ended: successfully when `error` is absent. */
export interface AttemptEvent extends EventBase<'attempt', 'pipeline'>, NoDelay {
  readonly error?: unknown;
}

/** The call as a whole succeeded. */
export interface SuccessEvent extends EventBase<'success', 'pipeline'>, NoError, NoDelay {}

/** The call as a whole failed. */
export interface FailureEvent extends EventBase<'failure', 'pipeline'>, NoDelay {
  /** What the call rejects with. */
  readonly error: unknown;
}

/**
 * One decision of one policy, for metrics, span events and logs: a union discriminated on `kind` (and,
 * for `reject`, on `policy`), so a handler narrows to exactly the fields of that event.
 *
 * @example
 * payments.onEvent((e) => {
 *   if (e.kind === 'retry') console.log(`retrying in ${e.delayMs} ms`); // delayMs: number
 * });
 */
export type ResilienceEvent =
  | RetryEvent
  | GiveUpEvent
  | BudgetExhaustedEvent
  | HedgeEvent
  | HedgeWonEvent
  | TimeoutEvent
  | BreakEvent
  | CircuitEvent
  | RejectEvent
  | QueuedEvent
  | LimitEvent
  | FallbackEvent
  | ChaosEvent
  | AttemptEvent
  | SuccessEvent
  | FailureEvent;

/** What happened: the `kind` of a `ResilienceEvent`. */
export type ResilienceEventKind = ResilienceEvent['kind'];

/** The event of one kind, e.g. `ResilienceEventOf<'retry'>`. */
export type ResilienceEventOf<K extends ResilienceEventKind> = Extract<ResilienceEvent, { kind: K }>;

/** A function that removes what it was returned for. */
export type Disposer = () => void;

/** A listener of resilience events. */
export type ResilienceListener = (event: ResilienceEvent) => void;

let warned = false;

/**
 * A list of listeners. Callers test `active` before building an event, so a pipeline nobody watches
 * allocates nothing for events.
 */
export class EventChannel {
  #listeners: ResilienceListener[] = [];
  active = false;

  subscribe(listener: ResilienceListener): Disposer {
    this.#listeners = [...this.#listeners, listener];
    this.active = true;
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener);
      this.active = this.#listeners.length > 0;
    };
  }

  emit(event: ResilienceEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        // A broken listener must not change the outcome of the call it observes.
        if (!warned) {
          warned = true;
          process.emitWarning(`a Keel resilience event listener threw: ${String(error)}`, 'KeelWarning');
        }
      }
    }
  }
}
