import { Histogram, type ObserveDataWithExemplar } from 'prom-client';
import { type ExemplarLabels, exemplarFor } from './exemplar.js';
import type { InstrumentContext, InstrumentDefinition } from './instrument-context.js';
import { directSeries } from './prom-series.js';
import { type BoundLabels, type LabelInput, seriesGuard } from './series-guard.js';

/** Bucket upper bounds, in seconds, of every duration histogram (the semantic conventions' advice). */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** A histogram of durations in seconds, with bounded series and optional trace exemplars. */
export interface DurationHistogram<L extends string> {
  readonly name: string;
  readonly labelNames: readonly L[];
  /**
   * Records one duration; pass `traceId` only for sampled traces, so the exemplar links to a stored trace.
   * @example metrics.httpServerDuration.record({ http_request_method: 'GET', http_route: '/users/:id' }, 0.042, traceId)
   */
  record(labels: LabelInput<L>, seconds: number, traceId?: string): void;
}

interface ObserveArgument {
  labels: BoundLabels;
  value: number;
  exemplarLabels: ExemplarLabels | undefined;
}

// prom-client 15's per-series state, which `observe` rebuilds a hash key for (twice, with an exemplar) on
// every call; updated directly through `directSeries` (prom-series.ts).
interface SeriesState {
  sum: number;
  count: number;
  bucketValues: Record<number, number>;
  bucketExemplars?: Record<number, { labelSet: object; value: number; timestamp?: number } | null>;
}
interface HistogramInternals {
  updateExemplar(labels: BoundLabels, value: number, exemplarLabels: ExemplarLabels): void;
}

/** The upper bound of the bucket `seconds` falls in, or -1 above the last (prom-client's convention). */
function bucketOf(seconds: number): number {
  for (const bound of DURATION_BUCKETS) if (seconds <= bound) return bound;
  return -1;
}

/** Creates a duration histogram from `definition` and registers it in the context's registry. */
export function durationHistogram<L extends string>(
  context: InstrumentContext,
  definition: InstrumentDefinition<L>,
): DurationHistogram<L> {
  const { name, help, labelNames } = definition;
  const histogram = new Histogram<string>({
    name,
    help,
    labelNames,
    buckets: [...DURATION_BUCKETS],
    enableExemplars: true,
    // Registered by hand below: prom-client refuses exemplars on a plain-text registry, but Keel renders the
    // registry itself and shows exemplars only in OpenMetrics output.
    registers: [],
  });
  context.registry.registerMetric(histogram);
  const guard = seriesGuard(labelNames, context.seriesLimit, context.overflowCounterFor(name));
  // prom-client destructures this argument at once and keeps none of it, so one object serves every call.
  const argument: ObserveArgument = { labels: {}, value: 0, exemplarLabels: undefined };
  const internals = histogram as unknown as HistogramInternals;
  const direct = directSeries<SeriesState>(histogram, labelNames, 'updateExemplar');

  function observeSlow(
    labels: BoundLabels,
    seconds: number,
    exemplarLabels: ExemplarLabels | undefined,
  ): void {
    argument.labels = labels;
    argument.value = seconds;
    argument.exemplarLabels = exemplarLabels;
    histogram.observe(argument as ObserveDataWithExemplar<string>);
    direct.remember(labels);
  }

  return {
    name,
    labelNames,
    record(labels, seconds, traceId) {
      // A negative or non-finite duration would corrupt `_sum`, and prom-client throws on NaN.
      if (!(seconds >= 0 && seconds < Number.POSITIVE_INFINITY)) return;
      const bound = guard(labels);
      const exemplarLabels = exemplarFor(traceId);
      const series = direct.find(bound);
      if (series === undefined) {
        observeSlow(bound, seconds, exemplarLabels);
        return;
      }
      const state = series.state;
      const upper = bucketOf(seconds);
      state.sum += seconds;
      state.count += 1;
      if (upper !== -1) state.bucketValues[upper] = (state.bucketValues[upper] ?? 0) + 1;
      if (exemplarLabels === undefined) return;
      const exemplar = state.bucketExemplars?.[upper];
      if (exemplar === undefined || exemplar === null) {
        // The bucket's first exemplar: prom-client builds the object it renders.
        internals.updateExemplar(bound, seconds, exemplarLabels);
        return;
      }
      exemplar.labelSet = exemplarLabels;
      exemplar.value = seconds;
      exemplar.timestamp = Date.now() / 1000;
    },
  };
}
