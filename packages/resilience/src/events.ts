/** The policy that made a decision. `pipeline` is the call as a whole. */
export type PolicyName =
  | 'pipeline'
  | 'rate-limit'
  | 'total-timeout'
  | 'retry'
  | 'circuit-breaker'
  | 'bulkhead'
  | 'timeout'
  | 'fallback';

/** What happened. */
export type ResilienceEventKind =
  /** a failed attempt will be retried after `delayMs` */
  | 'retry'
  /** retries stopped: attempts spent, or the next delay would overrun the deadline */
  | 'give-up'
  /** the retry budget refused a retry */
  | 'budget-exhausted'
  /** an attempt or the whole call ran out of time */
  | 'timeout'
  /** the circuit opened */
  | 'break'
  /** the circuit admits probes */
  | 'half-open'
  /** the circuit closed again */
  | 'reset'
  /** the circuit was isolated by hand */
  | 'isolate'
  /** the circuit, bulkhead or rate limiter refused a call */
  | 'reject'
  /** the bulkhead queued a call */
  | 'queued'
  /** the fallback answered for a failed call */
  | 'fallback'
  /** one physical attempt ended (successfully when `error` is absent) */
  | 'attempt'
  /** the call as a whole succeeded */
  | 'success'
  /** the call as a whole failed */
  | 'failure';

/** One decision of one policy, for metrics, span events and logs. */
export interface ResilienceEvent {
  readonly pipeline: string;
  readonly policy: PolicyName;
  readonly kind: ResilienceEventKind;
  /** The attempt the decision concerns, from 1; 0 before the first attempt. */
  readonly attempt: number;
  /** Seconds the decision concerns: the attempt, the call, the time a timeout allowed, or 0. */
  readonly durationS: number;
  /** The failure that led to the decision, if any. */
  readonly error?: unknown;
  /** For `retry`: the backoff before the next attempt; for `break`: how long the circuit stays open. */
  readonly delayMs?: number;
}

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
