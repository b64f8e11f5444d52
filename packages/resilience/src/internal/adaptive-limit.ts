import { checkKeys, checkObject, checkOneOf, optionalNumber, optionOutOfRange } from './validate.js';

/**
 * Options of an adaptive concurrency limit (the `adaptive` option of the bulkhead), all plain data.
 * `aimd`: +`increase` after a success while at least half the limit is in use, ×`backoffRatio` on a drop.
 * `gradient`: limit × (min RTT / smoothed RTT) + `queueSize`, blended into the limit by `smoothing`.
 */
export interface AdaptiveLimitOptions {
  /** @default 'gradient' */
  algorithm?: 'aimd' | 'gradient';
  /** The lowest the limit goes. @default 1 */
  minLimit?: number;
  /** The highest the limit goes. @default 200 */
  maxLimit?: number;
  /** The limit before any sample. @default 20, within [minLimit, maxLimit] */
  initialLimit?: number;
  /** AIMD: added to the limit after a success while the limit is in use. @default 1 */
  increase?: number;
  /** AIMD: the limit is multiplied by this on a drop (a timeout). @default 0.5 */
  backoffRatio?: number;
  /** Gradient: the share of the way to the target the limit moves per round trip, 0.01–1. @default 0.5 */
  smoothing?: number;
  /** Gradient: the calls allowed beyond the estimate, so the limit can probe upward. @default 4 */
  queueSize?: number;
  /** Gradient: the samples the smoothed RTT averages over (exponential moving average). @default 20 */
  rttWindow?: number;
  /**
   * Gradient: every this many samples the limit admitted halves until as many calls (at least 10) have
   * answered at that concurrency, to measure the minimum RTT afresh. @default 2000
   */
  probeInterval?: number;
}

export const ADAPTIVE_KEYS = [
  'algorithm',
  'minLimit',
  'maxLimit',
  'initialLimit',
  'increase',
  'backoffRatio',
  'smoothing',
  'queueSize',
  'rttWindow',
  'probeInterval',
] as const;

const AIMD_ONLY = ['increase', 'backoffRatio'] as const;
const GRADIENT_ONLY = ['smoothing', 'queueSize', 'rttWindow', 'probeInterval'] as const;

/** A concurrency limit that learns from samples of the calls it admitted. */
export interface AdaptiveLimit {
  readonly algorithm: 'aimd' | 'gradient';
  readonly minLimit: number;
  readonly maxLimit: number;
  /** The limit as computed, fractional; calls admitted are `Math.floor` of it. */
  readonly estimate: number;
  /**
   * One finished call: its round-trip time in ms, the calls in flight when it started (itself included),
   * and whether the dependency dropped it (a timeout).
   */
  sample(rttMs: number, inFlight: number, dropped: boolean): void;
}

/** Validates `options` (at `path`, e.g. `bulkhead.adaptive`) and builds the limit. */
export function adaptiveLimit(owner: string, path: string, options: unknown): AdaptiveLimit {
  const o = checkObject(owner, path, options, 'an options object');
  checkKeys(owner, `${path}.`, o, ADAPTIVE_KEYS);
  const algorithm = checkOneOf(owner, `${path}.algorithm`, o.algorithm, ['aimd', 'gradient'], 'gradient');
  const other = algorithm === 'aimd' ? GRADIENT_ONLY : AIMD_ONLY;
  for (const key of other) {
    if (o[key] !== undefined) {
      optionOutOfRange(owner, `${path}.${key}`, `absent with algorithm '${algorithm}'`, o[key]);
    }
  }
  const minLimit = optionalNumber(owner, `${path}.minLimit`, o.minLimit, 1, 1, 100_000);
  const maxLimit = optionalNumber(owner, `${path}.maxLimit`, o.maxLimit, Math.max(200, minLimit), 1, 100_000);
  if (maxLimit < minLimit) {
    optionOutOfRange(owner, `${path}.maxLimit`, `at least minLimit (${minLimit})`, maxLimit);
  }
  const initial = optionalNumber(
    owner,
    `${path}.initialLimit`,
    o.initialLimit,
    Math.min(maxLimit, Math.max(minLimit, 20)),
    minLimit,
    maxLimit,
  );
  const clamp = (limit: number): number => Math.min(maxLimit, Math.max(minLimit, limit));
  if (algorithm === 'aimd') {
    const increase = optionalNumber(owner, `${path}.increase`, o.increase, 1, 0.01, 1_000, false);
    const backoffRatio = optionalNumber(owner, `${path}.backoffRatio`, o.backoffRatio, 0.5, 0.1, 0.99, false);
    let estimate = initial;
    return {
      algorithm,
      minLimit,
      maxLimit,
      get estimate() {
        return estimate;
      },
      sample(_rttMs, inFlight, dropped) {
        if (dropped) estimate = clamp(Math.floor(estimate * backoffRatio));
        // Grow only while the limit is in use: an idle service must not talk itself into a huge limit.
        else if (inFlight * 2 >= Math.floor(estimate)) estimate = clamp(estimate + increase);
      },
    };
  }
  const smoothing = optionalNumber(owner, `${path}.smoothing`, o.smoothing, 0.5, 0.01, 1, false);
  const queueSize = optionalNumber(owner, `${path}.queueSize`, o.queueSize, 4, 0, 1_000);
  const rttWindow = optionalNumber(owner, `${path}.rttWindow`, o.rttWindow, 20, 1, 100_000);
  const probeInterval = optionalNumber(owner, `${path}.probeInterval`, o.probeInterval, 2_000, 10, 1_000_000);
  const alpha = 2 / (rttWindow + 1);
  let estimate = initial;
  let smoothedRtt = 0;
  let minRtt = Number.POSITIVE_INFINITY;
  // The minimum RTT is learned at low load: every `probeInterval` samples the limit admitted drops to half
  // the estimate until that many calls (at least 10), started at that concurrency, have answered; their
  // fastest is the new minimum. The estimate itself is kept, and restored after the probe.
  let sinceProbe = 0;
  let probeLimit = 0; // 0: not probing
  let probeLeft = 0;
  let probeMin = Number.POSITIVE_INFINITY;
  const startProbe = (): void => {
    probeLimit = Math.max(minLimit, Math.floor(estimate / 2));
    probeLeft = Math.max(10, probeLimit);
    probeMin = Number.POSITIVE_INFINITY;
  };
  return {
    algorithm,
    minLimit,
    maxLimit,
    get estimate() {
      return probeLimit === 0 ? estimate : probeLimit;
    },
    sample(rttMs, inFlight, dropped) {
      const rtt = Math.max(rttMs, 0.001);
      smoothedRtt = smoothedRtt === 0 ? rtt : smoothedRtt + alpha * (rtt - smoothedRtt);
      if (probeLimit !== 0) {
        if (inFlight > probeLimit || dropped) return; // admitted before the probe, at full load
        if (rtt < probeMin) probeMin = rtt;
        if (--probeLeft > 0) return;
        minRtt = probeMin;
        smoothedRtt = probeMin;
        probeLimit = 0;
        sinceProbe = 0;
        return;
      }
      if (rtt < minRtt) minRtt = rtt;
      if (++sinceProbe >= probeInterval) {
        startProbe();
        return;
      }
      // A drop says the latency seen understates the queue: back off as hard as a gradient may.
      const gradient = dropped ? 0.5 : Math.max(0.5, Math.min(1, minRtt / smoothedRtt));
      let next = estimate * gradient + queueSize;
      // Grow only while the limit is in use (an idle client learns nothing about the dependency's capacity).
      if (next > estimate && inFlight * 2 < Math.floor(estimate)) return;
      // Each sample moves the limit by `smoothing / limit` of the way: about `smoothing` of the way per
      // round trip of all the calls in flight, whose latencies are the feedback to its last move.
      const weight = Math.min(1, smoothing / Math.max(1, estimate));
      next = estimate + (next - estimate) * weight;
      estimate = clamp(next);
    },
  };
}
