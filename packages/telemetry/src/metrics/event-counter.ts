import { Counter, type IncreaseDataWithExemplar } from 'prom-client';
import { type ExemplarLabels, exemplarFor } from './exemplar.js';
import type { InstrumentContext, InstrumentDefinition } from './instrument-context.js';
import { directSeries } from './prom-series.js';
import { type BoundLabels, type LabelInput, seriesGuard } from './series-guard.js';

/** A monotonic counter of events, with bounded series and optional trace exemplars. */
export interface EventCounter<L extends string> {
  readonly name: string;
  readonly labelNames: readonly L[];
  /** Counts one event; pass `traceId` only for sampled traces, so the exemplar links to a stored trace. */
  increment(labels: LabelInput<L>, traceId?: string): void;
}

interface IncrementArgument {
  labels: BoundLabels;
  value: number;
  exemplarLabels: ExemplarLabels | undefined;
}

// prom-client 15's per-series state, which `inc` rebuilds a hash key for on every call (the resilience
// bridge counts every call's outcome); updated directly through `directSeries` (prom-series.ts).
interface SeriesState {
  value: number;
}
interface CounterInternals {
  updateExemplar(exemplarLabels: ExemplarLabels, value: number, hash: string): void;
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
  // prom-client destructures this argument at once and keeps none of it, so one object serves every call.
  const argument: IncrementArgument = { labels: {}, value: 1, exemplarLabels: undefined };
  const internals = counter as unknown as CounterInternals;
  const direct = directSeries<SeriesState>(counter, labelNames, 'updateExemplar');

  return {
    name,
    labelNames,
    increment(labels, traceId) {
      const bound = guard(labels);
      const exemplarLabels = exemplarFor(traceId);
      const series = direct.find(bound);
      if (series === undefined) {
        argument.labels = bound;
        argument.exemplarLabels = exemplarLabels;
        counter.inc(argument as IncreaseDataWithExemplar<string>);
        direct.remember(bound);
        return;
      }
      series.state.value += 1;
      if (exemplarLabels !== undefined) internals.updateExemplar(exemplarLabels, 1, series.hash);
    },
  };
}
