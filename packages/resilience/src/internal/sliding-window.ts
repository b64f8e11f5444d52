import { CircuitState as CockatielState, type IBreaker } from 'cockatiel';
import { now } from './clock.js';

/** Why a circuit opened: too many failures, or too many slow calls. */
export type BreakReason = 'failures' | 'slow-calls';

interface Bucket {
  index: number;
  successes: number;
  failures: number;
  slow: number;
}

/**
 * Failure-ratio and slow-call-ratio counting over a sliding window of time buckets, in cockatiel's
 * `IBreaker` shape. cockatiel's `SamplingBreaker` advances one bucket per recorded call, so after a quiet
 * spell longer than the window it still counts failures that have aged out, and `IBreaker.success` cannot
 * open a circuit, which a slow success must: `record` takes both verdicts of an attempt and says why the
 * circuit should open. Every bucket whose time has passed expires, on the monotonic clock.
 */
export class SlidingWindowBreaker implements IBreaker {
  readonly #buckets: Bucket[];
  readonly #bucketMs: number;
  #successes = 0;
  #failures = 0;
  #slow = 0;

  /** `slowThreshold` is the slow-call ratio above which the circuit opens, undefined when slow calls do not count. */
  constructor(
    readonly threshold: number,
    readonly minimumThroughput: number,
    durationMs: number,
    readonly slowThreshold?: number,
  ) {
    const count = Math.min(60, Math.max(5, Math.ceil(durationMs / 1000)));
    this.#bucketMs = durationMs / count;
    this.#buckets = Array.from({ length: count }, () => ({ index: -1, successes: 0, failures: 0, slow: 0 }));
  }

  get state(): unknown {
    return { successes: this.#successes, failures: this.#failures, slow: this.#slow };
  }

  set state(_value: unknown) {
    // Serialisation is not supported; the window starts empty.
  }

  #clear(bucket: Bucket, index: number): void {
    this.#successes -= bucket.successes;
    this.#failures -= bucket.failures;
    this.#slow -= bucket.slow;
    bucket.index = index;
    bucket.successes = 0;
    bucket.failures = 0;
    bucket.slow = 0;
  }

  #current(): Bucket {
    const index = Math.floor(now() / this.#bucketMs);
    const bucket = this.#buckets[index % this.#buckets.length]!;
    // The slot last held a bucket one full window (or more) ago: it has aged out.
    if (bucket.index !== index) this.#clear(bucket, index);
    return bucket;
  }

  #expire(): void {
    const oldest = Math.floor(now() / this.#bucketMs) - this.#buckets.length;
    for (const bucket of this.#buckets) {
      if (bucket.index !== -1 && bucket.index <= oldest) this.#clear(bucket, -1);
    }
  }

  /**
   * Counts one attempt of a closed circuit (`slow`: it took longer than the slow-call threshold, whether
   * it failed or not) and returns why the circuit should open, or undefined.
   */
  record(failed: boolean, slow: boolean): BreakReason | undefined {
    const bucket = this.#current();
    if (failed) {
      bucket.failures++;
      this.#failures++;
    } else {
      bucket.successes++;
      this.#successes++;
    }
    if (slow) {
      bucket.slow++;
      this.#slow++;
    }
    // A fast success only lowers both ratios.
    if (!failed && !slow) return undefined;
    this.#expire();
    const total = this.#successes + this.#failures;
    if (total < this.minimumThroughput) return undefined;
    if (this.#failures > this.threshold * total) return 'failures';
    if (this.slowThreshold !== undefined && this.#slow > this.slowThreshold * total) return 'slow-calls';
    return undefined;
  }

  success(state: CockatielState): void {
    if (state === CockatielState.HalfOpen) this.#reset();
    this.record(false, false);
  }

  failure(state: CockatielState): boolean {
    if (state !== CockatielState.Closed) {
      this.#current().failures++;
      this.#failures++;
      return true;
    }
    return this.record(true, false) !== undefined;
  }

  #reset(): void {
    for (const bucket of this.#buckets) this.#clear(bucket, -1);
    this.#successes = 0;
    this.#failures = 0;
    this.#slow = 0;
  }
}
