import { Histogram, type ObserveDataWithExemplar } from 'prom-client';
import { type ExemplarLabels, exemplarFor } from './exemplar.js';
import type { InstrumentContext, InstrumentDefinition } from './instrument-context.js';
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
  /** Removes the series from the registry and frees its place under the series cap. */
  remove(labels: LabelInput<L>): void;
}

interface ObserveArgument {
  labels: BoundLabels;
  value: number;
  exemplarLabels: ExemplarLabels | undefined;
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
  return {
    name,
    labelNames,
    record(labels, seconds, traceId) {
      // A negative or non-finite duration would corrupt `_sum`, and prom-client throws on NaN.
      if (!(seconds >= 0 && seconds < Number.POSITIVE_INFINITY)) return;
      // Through prom-client's own `observe` only: its per-series state is private and free to change.
      const argument: ObserveArgument = {
        labels: guard(labels),
        value: seconds,
        exemplarLabels: exemplarFor(traceId),
      };
      histogram.observe(argument as ObserveDataWithExemplar<string>);
    },
    remove(labels) {
      const bound = guard.release(labels);
      if (bound !== undefined) histogram.remove(bound);
    },
  };
}
