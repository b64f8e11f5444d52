import { CircuitState as CockatielState, type IBreaker } from 'cockatiel';
import { now } from './clock.js';

interface Bucket {
  index: number;
  successes: number;
  failures: number;
}

/**
 * Failure-ratio counting over a sliding window of time buckets, in cockatiel's `IBreaker` shape.
 * cockatiel's `SamplingBreaker` advances one bucket per recorded call, so after a quiet spell longer
 * than the window it still counts failures that have aged out; this one expires every bucket whose
 * time has passed, on the monotonic clock.
 */
export class SlidingWindowBreaker implements IBreaker {
  readonly #buckets: Bucket[];
  readonly #bucketMs: number;
  #successes = 0;
  #failures = 0;

  constructor(
    readonly threshold: number,
    readonly minimumThroughput: number,
    durationMs: number,
  ) {
    const count = Math.min(60, Math.max(5, Math.ceil(durationMs / 1000)));
    this.#bucketMs = durationMs / count;
    this.#buckets = Array.from({ length: count }, () => ({ index: -1, successes: 0, failures: 0 }));
  }

  get state(): unknown {
    return { successes: this.#successes, failures: this.#failures };
  }

  set state(_value: unknown) {
    // Serialisation is not supported; the window starts empty.
  }

  #current(): Bucket {
    const index = Math.floor(now() / this.#bucketMs);
    const bucket = this.#buckets[index % this.#buckets.length]!;
    if (bucket.index !== index) {
      // The slot last held a bucket one full window (or more) ago: it has aged out.
      this.#successes -= bucket.successes;
      this.#failures -= bucket.failures;
      bucket.index = index;
      bucket.successes = 0;
      bucket.failures = 0;
    }
    return bucket;
  }

  #expire(): void {
    const oldest = Math.floor(now() / this.#bucketMs) - this.#buckets.length;
    for (const bucket of this.#buckets) {
      if (bucket.index !== -1 && bucket.index <= oldest) {
        this.#successes -= bucket.successes;
        this.#failures -= bucket.failures;
        bucket.index = -1;
        bucket.successes = 0;
        bucket.failures = 0;
      }
    }
  }

  success(state: CockatielState): void {
    if (state === CockatielState.HalfOpen) this.#reset();
    this.#current().successes++;
    this.#successes++;
  }

  failure(state: CockatielState): boolean {
    this.#current().failures++;
    this.#failures++;
    if (state !== CockatielState.Closed) return true;
    this.#expire();
    const total = this.#successes + this.#failures;
    return total >= this.minimumThroughput && this.#failures > this.threshold * total;
  }

  #reset(): void {
    for (const bucket of this.#buckets) {
      bucket.index = -1;
      bucket.successes = 0;
      bucket.failures = 0;
    }
    this.#successes = 0;
    this.#failures = 0;
  }
}
