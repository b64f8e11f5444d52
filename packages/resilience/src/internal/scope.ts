import type { EventChannel, PolicyName, ResilienceEvent, ResilienceEventKind } from '../events.js';

/** Something that must hear when a scope is aborted: a child scope, a race, a sleep, a queue entry. */
export interface AbortListener {
  onAbort(reason: Error): void;
}

/** What the user's function receives. */
export interface ExecuteContext {
  /** Aborts when this attempt times out, the call's deadline passes or the caller cancels. Created on first read. */
  readonly signal: AbortSignal;
  /** The attempt number, from 1. */
  readonly attempt: number;
  /** The deadline bounding this attempt, as a `performance.now()` instant, if any. */
  readonly deadline: number | undefined;
  /** Why this attempt was aborted, once it has been (`TimeoutError`, `CancelledError`…); undefined before. */
  readonly reason: Error | undefined;
  /**
   * Calls `listener.onAbort(reason)` when this attempt is aborted, without creating an `AbortSignal`: for an
   * adapter that hands the abort to its transport's own cancel. A listener added after the abort is not
   * called, so read `reason` first; `unlisten` once the work it guards has settled.
   */
  listen(listener: AbortListener): void;
  /** Removes a listener added with `listen`; a no-op when it was not (or no longer is) listening. */
  unlisten(listener: AbortListener): void;
}

/**
 * A region of one call that can be aborted on its own: the whole call (the root, a `Call`) or what a
 * timeout guards. Aborting a scope aborts its children. The `AbortController` is created only when
 * the user's function reads `signal`, so calls that never look at it never pay for one.
 */
export class Scope implements AbortListener, ExecuteContext {
  readonly call: Call;
  readonly parent: Scope | undefined;
  readonly deadline: number | undefined;
  reason: Error | undefined = undefined;
  #controller: AbortController | undefined = undefined;
  // Most scopes have at most one listener at a time (the current attempt), so keep it in a field.
  #first: AbortListener | undefined = undefined;
  #more: AbortListener[] | undefined = undefined;

  constructor(call: Call | undefined, parent: Scope | undefined, deadline: number | undefined) {
    this.call = call ?? (this as unknown as Call);
    this.parent = parent;
    this.deadline = deadline;
    if (parent !== undefined) parent.listen(this);
  }

  // A hedged attempt's scope has a number of its own; the scopes inside it (its timeout's) inherit it.
  get attempt(): number {
    return this.parent === undefined ? this.call.attemptNumber : this.parent.attempt;
  }

  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      if (this.reason !== undefined) controller.abort(this.reason);
    }
    return controller.signal;
  }

  listen(listener: AbortListener): void {
    if (this.#first === undefined) this.#first = listener;
    else if (this.#more === undefined) this.#more = [listener];
    else this.#more.push(listener);
  }

  unlisten(listener: AbortListener): void {
    if (this.#first === listener) {
      this.#first = this.#more?.shift();
    } else if (this.#more !== undefined) {
      const i = this.#more.indexOf(listener);
      if (i >= 0) this.#more.splice(i, 1);
    }
  }

  abort(reason: Error): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.#controller?.abort(reason);
    const first = this.#first;
    const more = this.#more;
    this.#first = undefined;
    this.#more = undefined;
    first?.onAbort(reason);
    if (more !== undefined) for (const l of more) l.onAbort(reason);
  }

  onAbort(reason: Error): void {
    this.abort(reason);
  }

  /** Detaches from the parent once the guarded work has settled. */
  release(): void {
    this.parent?.unlisten(this);
  }
}

/** Everything one `execute()` call carries: the user's function, the attempt counter and the events. */
export class Call extends Scope {
  readonly pipeline: string;
  readonly events: EventChannel;
  readonly fn: (ctx: ExecuteContext) => unknown;
  /** Start instant, for the call's duration in events (a listener may subscribe mid-call). */
  readonly startedAt: number;
  /** Whether the caller can cancel (passed a signal). */
  readonly abortable: boolean;
  /** False when the caller said the call must be sent at most once (`ExecuteOptions.idempotent`). */
  idempotent = true;
  /** The timer of the call's own deadline, if any. */
  timer: NodeJS.Timeout | undefined = undefined;
  /** The number of the latest attempt started, from 1 (hedged attempts count too). */
  attemptNumber = 1;
  /** How many times the user's function was called, so a policy can tell whether an attempt reached it. */
  invocations = 0;
  // Intrusive list of calls in flight, so dispose() can abort them without a Set on the hot path.
  prev: Call | undefined = undefined;
  next: Call | undefined = undefined;

  constructor(
    pipeline: string,
    events: EventChannel,
    fn: (ctx: ExecuteContext) => unknown,
    deadline: number | undefined,
    abortable: boolean,
    startedAt: number,
  ) {
    super(undefined, undefined, deadline);
    this.abortable = abortable;
    this.pipeline = pipeline;
    this.events = events;
    this.fn = fn;
    this.startedAt = startedAt;
  }

  emit(
    policy: PolicyName,
    kind: ResilienceEventKind,
    durationS: number,
    error?: unknown,
    delayMs?: number,
    attempt: number = this.attemptNumber,
  ): void {
    if (!this.events.active) return;
    const pipeline = this.pipeline;
    // The policies pass the fields their kind of event has (see `ResilienceEvent`); this builds it.
    // The success path's events (an attempt, the call) carry neither: one literal, no spread temporaries.
    if (error === undefined && delayMs === undefined) {
      this.events.emit({ pipeline, policy, kind, attempt, durationS } as ResilienceEvent);
      return;
    }
    this.events.emit({
      pipeline,
      policy,
      kind,
      attempt,
      durationS,
      ...(error === undefined ? {} : { error }),
      ...(delayMs === undefined ? {} : { delayMs }),
    } as ResilienceEvent);
  }
}
