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
}

interface IncrementArgument {
  labels: BoundLabels;
  value: number;
  exemplarLabels: ExemplarLabels | undefined;
}

// prom-client 15's per-series state, which `inc` rebuilds a hash key for on every call (the resilience
// bridge counts every call's outcome). As for the duration histogram, Keel holds a reference per bound
// label set and adds to it directly; the identity check sends a reset or removed series back through `inc`.
interface SeriesState {
  value: number;
}
interface CounterInternals {
  hashMap: Record<string, SeriesState | undefined>;
  updateExemplar(exemplarLabels: ExemplarLabels, value: number, hash: string): void;
}
interface KnownSeries {
  readonly hash: string;
  readonly state: SeriesState;
}

/** prom-client's key for a label set: `name:value,` for each defined label, names sorted. */
function seriesHash(sortedNames: readonly string[], labels: BoundLabels): string {
  let hash = '';
  for (const name of sortedNames) {
    const value = labels[name];
    if (value !== undefined) hash += `${name}:${value},`;
  }
  return hash;
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
  // The direct path leans on prom-client 15's layout; any other layout keeps every call on `inc`.
  const direct =
    typeof internals.hashMap === 'object' &&
    internals.hashMap !== null &&
    typeof internals.updateExemplar === 'function';
  const sortedNames = [...labelNames].sort();
  // Bounded by the series guard: one entry per admitted label set, plus the overflow series.
  const known = new Map<BoundLabels, KnownSeries>();

  return {
    name,
    labelNames,
    increment(labels, traceId) {
      const bound = guard(labels);
      const exemplarLabels = exemplarFor(traceId);
      const series = known.get(bound);
      if (series === undefined || internals.hashMap[series.hash] !== series.state) {
        argument.labels = bound;
        argument.exemplarLabels = exemplarLabels;
        counter.inc(argument as IncreaseDataWithExemplar<string>);
        if (!direct) return;
        const hash = seriesHash(sortedNames, bound);
        const state = internals.hashMap[hash];
        if (state !== undefined) known.set(bound, { hash, state });
        return;
      }
      series.state.value += 1;
      if (exemplarLabels !== undefined) internals.updateExemplar(exemplarLabels, 1, series.hash);
    },
  };
}
