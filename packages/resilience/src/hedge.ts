import { type Context, context } from '@opentelemetry/api';
import { CancelledError, isLocalRejection } from './errors.js';
import { now } from './internal/clock.js';
import { LatencyWindow } from './internal/latency-window.js';
import { runIn } from './internal/run-in.js';
import { type AbortListener, Scope } from './internal/scope.js';
import {
  checkFunction,
  checkKeys,
  checkNumber,
  checkObject,
  MAX_MS,
  optionalNumber,
} from './internal/validate.js';
import { brandPolicy, type Next, type Policy } from './policy.js';
import { type RetryBudget, type RetryBudgetOptions, retryBudget } from './retry-budget.js';

/** A hedge delay derived from the latency of recent successful attempts. */
export interface HedgeDelayOptions {
  /** The percentile of recent successful attempts' latency to wait before hedging, e.g. `0.95`. */
  percentile: number;
  /** How many recent successful attempts to remember. @default 100 */
  window?: number;
  /** Samples needed before the percentile is used; until then the hedge waits `delayMs`. @default 20 */
  minSamples?: number;
}

/** Options of the hedging policy. Times in milliseconds. */
export interface HedgeOptions {
  /** Extra attempts allowed in parallel with the first. @default 1 */
  maxHedged?: number;
  /** The wait before each hedged attempt; with `delay`, the wait until enough samples are held. @default 2000 */
  delayMs?: number;
  /** Derive the wait from observed latency instead of a fixed `delayMs`. @default none */
  delay?: HedgeDelayOptions;
  /**
   * The budget a hedged attempt spends a token of (no token, no hedge), its options, or `false`.
   * A `RetryBudget` passed in is charged but not credited: share a retry policy's, which credits it.
   * @default a budget of its own, credited by the hedge's successful calls
   */
  budget?: RetryBudget | RetryBudgetOptions | false;
  /** Whether a result is acceptable; an unacceptable one does not win while another attempt runs. @default every result */
  accept?: (result: unknown) => boolean;
}

/** The hedging policy. */
export interface HedgePolicy extends Policy {
  readonly name: 'hedge';
  readonly maxHedged: number;
  /** The budget hedged attempts draw on, if any. */
  readonly budget: RetryBudget | undefined;
  /** The wait before the next call's first hedge, in ms: `delayMs`, or the observed percentile. */
  readonly delayMs: number;
}

const KNOWN = ['maxHedged', 'delayMs', 'delay', 'budget', 'accept'] as const;
const DELAY_KNOWN = ['percentile', 'window', 'minSamples'] as const;

/** One hedged attempt: a scope of its own (aborted alone when it loses) with its own attempt number. */
class HedgedAttempt extends Scope {
  constructor(
    parent: Scope,
    readonly number: number,
    readonly startedAt: number,
  ) {
    super(parent.call, parent, parent.deadline);
  }

  override get attempt(): number {
    return this.number;
  }
}

interface Settings {
  readonly maxHedged: number;
  readonly budget: RetryBudget | undefined;
  readonly credits: boolean;
  readonly accept: ((result: unknown) => boolean) | undefined;
  readonly latency: LatencyWindow | undefined;
  delay(): number;
}

/** The attempts of one hedged round, racing until the first acceptable result. */
class Round implements AbortListener {
  readonly attempts: HedgedAttempt[] = [];
  readonly base: number;
  readonly startedAt = now();
  // Hedged attempts start in the caller's context (its span, its deadline), whatever context fires the timer.
  readonly context: Context = context.active();
  timer: NodeJS.Timeout | undefined = undefined;
  pending = 0;
  settled = false;
  last: { ok: boolean; value: unknown } | undefined = undefined;
  delayMs = 0;

  constructor(
    readonly parent: Scope,
    readonly next: Next,
    readonly settings: Settings,
    readonly resolve: (value: unknown) => void,
    readonly reject: (reason: unknown) => void,
  ) {
    this.base = parent.call.attemptNumber;
  }

  start(): void {
    this.parent.listen(this);
    this.delayMs = this.settings.delay();
    this.launch();
  }

  launch(): void {
    const call = this.parent.call;
    const number = this.base + this.attempts.length;
    const attempt = new HedgedAttempt(this.parent, number, now());
    this.attempts.push(attempt);
    this.pending++;
    // Policies inside read the call's number as they start: this attempt's.
    call.attemptNumber = number;
    if (number > this.base) call.emit('hedge', 'hedge', 0, undefined, this.delayMs);
    if (this.attempts.length <= this.settings.maxHedged) {
      this.timer = setTimeout(hedgeAgain, this.delayMs, this);
    }
    let work: Promise<unknown>;
    try {
      work = this.next(attempt);
    } catch (error) {
      work = Promise.reject(error);
    }
    work.then(
      (value) => this.ok(attempt, value),
      (error: unknown) => this.fail(error),
    );
  }

  ok(attempt: HedgedAttempt, value: unknown): void {
    if (this.settled) return;
    let acceptable: boolean;
    try {
      acceptable = this.settings.accept?.(value) ?? true;
    } catch (error) {
      // A throwing `accept` fails the attempt, as a throwing `retryOn` does.
      this.fail(error);
      return;
    }
    this.pending--;
    this.last = { ok: true, value };
    if (acceptable) {
      this.settings.latency?.add(now() - attempt.startedAt);
      if (this.settings.credits) this.settings.budget!.onSuccess();
      this.finish(attempt);
    } else if (this.pending === 0) this.finish(undefined);
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.pending--;
    // Keep the most telling outcome: a dependency's own failure over a local rejection of another attempt.
    const last = this.last;
    if (last === undefined || !isLocalRejection(error) || (!last.ok && isLocalRejection(last.value))) {
      this.last = { ok: false, value: error };
    }
    if (this.pending === 0) this.finish(undefined);
  }

  /** Ends the round with the winner's result, or (no winner) the most telling outcome; aborts the rest. */
  finish(winner: HedgedAttempt | undefined): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.parent.unlisten(this);
    const call = this.parent.call;
    const hedged = this.attempts.length > 1;
    // The next attempt of an outer retry is numbered after every attempt of this round.
    call.attemptNumber = this.base + this.attempts.length - 1;
    for (const attempt of this.attempts) {
      attempt.release();
      if (attempt !== winner && attempt.reason === undefined) {
        attempt.abort(new CancelledError('another hedged attempt answered first', call.pipeline));
      }
    }
    if (winner !== undefined && hedged) {
      call.emit('hedge', 'hedge-won', (now() - this.startedAt) / 1000, undefined, undefined, winner.number);
    }
    const last = this.last!;
    if (last.ok) this.resolve(last.value);
    else this.reject(last.value);
  }

  onAbort(reason: Error): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.parent.call.attemptNumber = this.base + this.attempts.length - 1;
    for (const attempt of this.attempts) attempt.release();
    this.reject(reason);
  }
}

function hedgeAgain(round: Round): void {
  round.timer = undefined;
  if (round.settled) return;
  const budget = round.settings.budget;
  if (budget !== undefined && !budget.canRetry()) {
    const call = round.parent.call;
    call.emit('hedge', 'budget-exhausted', 0, undefined, undefined, round.base + round.attempts.length);
    return;
  }
  budget?.onRetry();
  runIn(round.context, launch, round);
}

function launch(round: Round): void {
  round.launch();
}

function isBudget(value: object): value is RetryBudget {
  return typeof (value as RetryBudget).canRetry === 'function';
}

/**
 * Hedges slow calls: when an attempt has not answered after a delay, starts another in parallel (up to
 * `maxHedged` more), takes the first acceptable result and aborts the others through their signals. For
 * idempotent calls with a long tail. Each hedged attempt spends a token of the budget, so in an outage
 * hedging stops with the reserve instead of multiplying the load. Failures are not hedged: a round whose
 * attempts all failed rejects with the most telling failure, for a retry outside to decide on.
 *
 * @example
 * pipeline('search', compose(retry(), hedge({ delay: { percentile: 0.95 } }), timeout(1_000)));
 */
export function hedge(options: HedgeOptions = {}, owner = 'hedge'): HedgePolicy {
  const p = owner === 'hedge' ? '' : 'hedge.';
  checkKeys(
    owner,
    p,
    checkObject(owner, owner === 'hedge' ? 'options' : 'hedge', options, 'an options object'),
    KNOWN,
  );
  const maxHedged = optionalNumber(owner, `${p}maxHedged`, options.maxHedged, 1, 1, 10);
  const delayMs = optionalNumber(owner, `${p}delayMs`, options.delayMs, 2_000, 0, MAX_MS);
  let latency: LatencyWindow | undefined;
  let percentile = 0;
  let minSamples = 0;
  if (options.delay !== undefined) {
    const d = checkObject(owner, `${p}delay`, options.delay, 'an object such as { percentile: 0.95 }');
    checkKeys(owner, `${p}delay.`, d, DELAY_KNOWN);
    percentile = checkNumber(owner, `${p}delay.percentile`, d.percentile, 0.01, 0.999, false);
    const window = optionalNumber(owner, `${p}delay.window`, d.window, 100, 1, 10_000);
    minSamples = optionalNumber(owner, `${p}delay.minSamples`, d.minSamples, Math.min(20, window), 1, window);
    latency = new LatencyWindow(window);
  }
  const accept = checkFunction<(result: unknown) => boolean>(owner, `${p}accept`, options.accept);
  const given = options.budget;
  const shared = given !== undefined && given !== false && isBudget(given);
  const budget =
    given === false
      ? undefined
      : shared
        ? given
        : retryBudget(
            given === undefined ? {} : checkObject(owner, `${p}budget`, given),
            owner,
            `${p}budget.`,
          );
  const currentDelay = (): number =>
    latency === undefined || latency.count < minSamples
      ? delayMs
      : Math.min(MAX_MS, latency.percentile(percentile));
  const settings: Settings = {
    maxHedged,
    budget,
    credits: budget !== undefined && !shared,
    accept,
    latency,
    delay: currentDelay,
  };

  function run(scope: Scope, next: Next): Promise<unknown> {
    if (scope.reason !== undefined) return Promise.reject(scope.reason);
    // A call the caller said must be sent at most once is never hedged.
    if (!scope.call.idempotent) return next(scope);
    return new Promise((resolve, reject) => new Round(scope, next, settings, resolve, reject).start());
  }

  return brandPolicy<HedgePolicy>({
    name: 'hedge',
    maxHedged,
    budget,
    get delayMs() {
      return currentDelay();
    },
    run,
  });
}
