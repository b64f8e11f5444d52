/**
 * The latencies of the last `size` successful attempts, in a fixed ring, and their percentiles: memory
 * stays `size` numbers however many calls are made. A percentile is recomputed (a sort of at most `size`
 * numbers) only when a sample arrived since the last one was read.
 */
export class LatencyWindow {
  readonly #ring: Float64Array;
  readonly #sorted: Float64Array;
  #count = 0;
  #next = 0;
  #dirty = false;
  #percentile = Number.NaN;
  #value = 0;

  constructor(size: number) {
    this.#ring = new Float64Array(size);
    this.#sorted = new Float64Array(size);
  }

  /** Samples held, at most the window's size. */
  get count(): number {
    return this.#count;
  }

  add(ms: number): void {
    this.#ring[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#ring.length;
    if (this.#count < this.#ring.length) this.#count++;
    this.#dirty = true;
  }

  /** The nearest-rank percentile `p` (0 < p < 1) of the samples held; NaN with none. */
  percentile(p: number): number {
    const count = this.#count;
    if (count === 0) return Number.NaN;
    if (this.#dirty || p !== this.#percentile) {
      const sorted = this.#sorted.subarray(0, count);
      sorted.set(this.#ring.subarray(0, count));
      sorted.sort();
      this.#value = sorted[Math.min(count - 1, Math.max(0, Math.ceil(p * count) - 1))]!;
      this.#percentile = p;
      this.#dirty = false;
    }
    return this.#value;
  }
}
