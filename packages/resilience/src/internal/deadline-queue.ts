import { now } from './clock.js';

/** Something a `DeadlineQueue` can hold: its deadline and the queue's intrusive links. */
export interface Timed {
  readonly deadline: number | undefined;
  timedPrev: Timed | undefined;
  timedNext: Timed | undefined;
  /** The queue holding it, if any. */
  timedIn: object | undefined;
}

function flush(queue: { flushPending: boolean; arm(): void }): void {
  queue.flushPending = false;
  queue.arm();
}

function fire(queue: { fired(generation: number): void }, generation: number): void {
  queue.fired(generation);
}

/**
 * Guard timers of one fixed length (a pipeline's attempt timeout, its total timeout) on one shared,
 * unref'd timer, set for the earliest deadline. Entries are added in deadline order, so adding and
 * removing is O(1) and a call pays no `setTimeout`/`unref`/`clearTimeout` of its own.
 *
 * The timer is armed at the end of the current tick (`process.nextTick`), not at `add`: no timer can
 * fire before then anyway, and work that settles within the tick (a cached answer, a synchronous
 * fallback) then needs no timer at all. The delay is computed from the absolute deadline when armed,
 * so arming late does not delay the expiry.
 *
 * Precision: an entry expires no earlier than its deadline on the `performance.now()` clock. When the
 * timer wakes early (libuv rounds to whole ms) the queue re-arms for the remainder, so an expiry can
 * come up to about 1 ms later than a dedicated `setTimeout` would have fired.
 *
 * Once the queue empties the timer is cleared, so nothing is left behind when calls settle or a
 * pipeline is disposed.
 */
export class DeadlineQueue<T extends Timed> {
  #head: T | undefined = undefined;
  #tail: T | undefined = undefined;
  #timer: NodeJS.Timeout | undefined = undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  // The setTimeout the timer came from: when tests switch between fake and real timers, a timer of
  // the other kind will never fire, so the queue re-arms with the current one.
  #armedWith: typeof setTimeout | undefined = undefined;
  // Tells the current timer from one replaced since, which must do nothing if it still fires.
  #generation = 0;
  flushPending = false;

  constructor(readonly expire: (entry: T) => void) {}

  add(entry: T): void {
    const deadline = entry.deadline as number;
    let after = this.#tail;
    // Fixed-length guards arrive in deadline order; walk back only if the clock was swapped under us.
    while (after !== undefined && (after.deadline as number) > deadline)
      after = after.timedPrev as T | undefined;
    const before = (after === undefined ? this.#head : after.timedNext) as T | undefined;
    entry.timedPrev = after;
    entry.timedNext = before;
    entry.timedIn = this;
    if (after === undefined) this.#head = entry;
    else after.timedNext = entry;
    if (before === undefined) this.#tail = entry;
    else before.timedPrev = entry;
    if (
      !this.flushPending &&
      (deadline < this.#armedFor || this.#timer === undefined || this.#armedWith !== setTimeout)
    ) {
      this.flushPending = true;
      process.nextTick(flush, this);
    }
  }

  delete(entry: T): void {
    if (entry.timedIn !== this) return;
    const prev = entry.timedPrev as T | undefined;
    const next = entry.timedNext as T | undefined;
    if (prev === undefined) this.#head = next;
    else prev.timedNext = next;
    if (next === undefined) this.#tail = prev;
    else next.timedPrev = prev;
    entry.timedPrev = entry.timedNext = entry.timedIn = undefined;
    if (this.#head === undefined && this.#timer !== undefined) this.#disarm();
  }

  /** Sets the timer for the earliest deadline, unless one already covers it. */
  arm(): void {
    const head = this.#head;
    if (head === undefined) return;
    const deadline = head.deadline as number;
    if (this.#timer !== undefined) {
      if (deadline >= this.#armedFor && this.#armedWith === setTimeout) return;
      this.#disarm();
    }
    // A guard, not work: it must never keep the process alive by itself.
    this.#timer = setTimeout(fire, Math.max(0, deadline - now()), this, ++this.#generation);
    this.#timer.unref();
    this.#armedFor = deadline;
    this.#armedWith = setTimeout;
  }

  /** The timer's callback: expires every entry whose deadline has passed, then re-arms. */
  fired(generation: number): void {
    if (generation !== this.#generation) return;
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const at = now();
    for (let head = this.#head; head !== undefined && (head.deadline as number) <= at; head = this.#head) {
      this.delete(head);
      this.expire(head);
    }
    this.arm();
  }

  #disarm(): void {
    this.#generation++;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }
}
