import { Counter, type IncreaseDataWithExemplar } from 'prom-client';
import { type ExemplarLabels, exemplarFor } from './exemplar.js';
import type { InstrumentContext, InstrumentDefinition } from './instrument-context.js';
import { type BoundLabels, type LabelInput, seriesGuard } from './series-guard.js';

/** A monotonic counter of events, with bounded series and optional trace exemplars. */
export interface EventCounter<L extends string> {
  readonly name: string;
  readonly labelNames: readonly L[];
  /** Counts one event; pass `traceId` only for sampled traces, so the exemplar links to a stored trace. */
  increment(labels: LabelInput<L>, traceId?: string): void;
  /**
   * Makes the series at 0 if it does not exist, so its first event shows as an increase to `rate()` and
   * `increase()` (a series born at 1 hides that first event from them). Skipped, uncounted, when the
   * metric is at its series cap: a series made ahead of need never takes the overflow series.
   */
  initialize(labels: LabelInput<L>): void;
  /** Removes the series from the registry and frees its place under the series cap. */
  remove(labels: LabelInput<L>): void;
}

interface IncrementArgument {
  labels: BoundLabels;
  value: number;
  exemplarLabels: ExemplarLabels | undefined;
}

/** Creates an event counter from `definition` and registers it in the context's registry. */
export function eventCounter<L extends string>(
  context: InstrumentContext,
  definition: InstrumentDefinition<L>,
): EventCounter<L> {
  const { name, help, labelNames } = definition;
  const counter = new Counter<string>({
    name,
    help,
    labelNames,
    enableExemplars: true,
    // Registered by hand: see durationHistogram for why prom-client's own exemplar check is bypassed.
    registers: [],
  });
  context.registry.registerMetric(counter);
  const guard = seriesGuard(labelNames, context.seriesLimit, context.overflowCounterFor(name));

  return {
    name,
    labelNames,
    increment(labels, traceId) {
      // Through prom-client's own `inc` only: its per-series state is private and free to change.
      const argument: IncrementArgument = {
        labels: guard(labels),
        value: 1,
        exemplarLabels: exemplarFor(traceId),
      };
      counter.inc(argument as IncreaseDataWithExemplar<string>);
    },
    initialize(labels) {
      const bound = guard.ifRoom(labels);
      if (bound === undefined) return;
      const argument: IncrementArgument = { labels: bound, value: 0, exemplarLabels: undefined };
      counter.inc(argument as IncreaseDataWithExemplar<string>);
    },
    remove(labels) {
      const bound = guard.release(labels);
      if (bound !== undefined) counter.remove(bound);
    },
  };
}
