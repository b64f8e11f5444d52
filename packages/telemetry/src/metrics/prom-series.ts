import type { BoundLabels } from './series-guard.js';

// prom-client 15 keeps one state object per label set in `hashMap`, keyed by a string it rebuilds from
// the labels on every `observe`/`inc`. Keel's instruments receive interned label objects from the series
// guard, so they can remember the state object per label set and update it directly. The identity check
// against the metric's own map sends a reset or removed series back through prom-client's method.

/** The part of a prom-client 15 metric the direct path reads. */
export interface SeriesMap<S> {
  hashMap: Record<string, S | undefined>;
}

/** prom-client's key for a label set: `name:value,` for each defined label, names sorted. */
export function seriesHash(sortedNames: readonly string[], labels: BoundLabels): string {
  let hash = '';
  for (const name of sortedNames) {
    const value = labels[name];
    if (value !== undefined) hash += `${name}:${value},`;
  }
  return hash;
}

/** A series the direct path may update: its prom-client key and state. */
export interface KnownSeries<S> {
  readonly hash: string;
  readonly state: S;
}

/** Remembers, per interned label set, the state prom-client keeps for it. */
export interface DirectSeries<S> {
  /** The series to update directly, or undefined: then call prom-client's method and `remember`. */
  find(labels: BoundLabels): KnownSeries<S> | undefined;
  /** After prom-client's own method recorded `labels`: remember its state for the next call. */
  remember(labels: BoundLabels): void;
}

/**
 * The direct path for `metric`, or one that never finds a series when prom-client's layout is not the one
 * it leans on (`hashMap` plus the named method), so every call stays on prom-client's own method.
 */
export function directSeries<S>(
  metric: object,
  labelNames: readonly string[],
  method: string,
): DirectSeries<S> {
  const internals = metric as SeriesMap<S> & Record<string, unknown>;
  const usable =
    typeof internals.hashMap === 'object' &&
    internals.hashMap !== null &&
    typeof internals[method] === 'function';
  const sortedNames = [...labelNames].sort();
  // Bounded by the series guard: one entry per admitted label set, plus the overflow series.
  const known = new Map<BoundLabels, KnownSeries<S>>();
  return {
    find(labels) {
      const series = known.get(labels);
      return series !== undefined && internals.hashMap[series.hash] === series.state ? series : undefined;
    },
    remember(labels) {
      if (!usable) return;
      const hash = seriesHash(sortedNames, labels);
      const state = internals.hashMap[hash];
      if (state !== undefined) known.set(labels, { hash, state });
    },
  };
}
