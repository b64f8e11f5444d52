import { OVERFLOW_LABEL_VALUE, sanitizeLabelValue } from './label-value.js';

/** Label values as callers pass them: any subset of the metric's label names. */
export type LabelInput<L extends string> = { readonly [K in L]?: string | number | undefined };

/** Label values ready for prom-client: sanitised, and the same object for the same series every time. */
export type BoundLabels = Record<string, string>;

/** Maps caller labels to a bounded series; returns the overflow series once the cap is reached. */
export interface SeriesGuard<L extends string> {
  (input: LabelInput<L>): BoundLabels;
  /**
   * Forgets the series of `input`, freeing its place under the cap: returns its bound labels (for the
   * metric's own `remove`), or undefined when it was never made.
   */
  release(input: LabelInput<L>): BoundLabels | undefined;
  /** The series of `input` if it exists or fits under the cap; undefined (and no overflow) otherwise. */
  ifRoom(input: LabelInput<L>): BoundLabels | undefined;
}

// Sanitised values cannot contain control characters, so these cannot collide with a value.
const SEPARATOR = '\u0001';
const ABSENT = '\u0002';

/**
 * Builds the guard for one metric: at most `limit` distinct label sets, then one overflow series whose every
 * label is `_overflow`; `onOverflow` runs for each recording diverted there.
 */
export function seriesGuard<L extends string>(
  labelNames: readonly L[],
  limit: number,
  onOverflow: () => void,
): SeriesGuard<L> {
  const series = new Map<string, BoundLabels>();
  const overflow: BoundLabels = {};
  for (const name of labelNames) overflow[name] = OVERFLOW_LABEL_VALUE;
  // Reused between calls (recording is synchronous) so a hit on a known series allocates only its key.
  const scratch: (string | undefined)[] = new Array(labelNames.length);

  // Raw label values → bound labels, one Map level per label, so a known series costs lookups and no
  // string building. Distinct raw values can share a series (200 and '200', long values cut alike), so this
  // index is capped on its own; past the cap recordings take the keyed path below, which stays exact.
  const index = new Map<unknown, unknown>();
  const indexLimit = Math.max(limit, 1) * 4;
  let indexed = 0;
  const last = labelNames.length - 1;

  function lookup(input: LabelInput<L>): BoundLabels | undefined {
    let node = index;
    for (let i = 0; i < last; i++) {
      const next = node.get(input[labelNames[i]!]) as Map<unknown, unknown> | undefined;
      if (next === undefined) return undefined;
      node = next;
    }
    return node.get(last < 0 ? undefined : input[labelNames[last]!]) as BoundLabels | undefined;
  }

  function remember(input: LabelInput<L>, labels: BoundLabels): void {
    if (indexed >= indexLimit) return;
    indexed++;
    let node = index;
    for (let i = 0; i < last; i++) {
      const raw = input[labelNames[i]!];
      let next = node.get(raw) as Map<unknown, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(raw, next);
      }
      node = next;
    }
    node.set(last < 0 ? undefined : input[labelNames[last]!], labels);
  }

  const guard = function guard(input: LabelInput<L>): BoundLabels {
    const hit = lookup(input);
    if (hit !== undefined) return hit;
    const labels = keyed(input);
    if (labels !== overflow) remember(input, labels);
    return labels;
  } as SeriesGuard<L>;
  guard.ifRoom = (input) => {
    const hit = lookup(input);
    if (hit !== undefined) return hit;
    const key = keyOf(input);
    if (!series.has(key) && series.size >= limit) return undefined;
    return guard(input);
  };
  guard.release = (input) => {
    const key = keyOf(input);
    const labels = series.get(key);
    if (labels === undefined) return undefined;
    series.delete(key);
    // The index is a cache of raw values → series, and several raw values may lead to this one: dropped
    // whole (releases are rare: a pipeline disposed), it refills as series are recorded again.
    index.clear();
    indexed = 0;
    return labels;
  };
  return guard;

  /** The series key of `input`; leaves its sanitised values in `scratch`. */
  function keyOf(input: LabelInput<L>): string {
    let key = '';
    for (let i = 0; i < labelNames.length; i++) {
      const raw = input[labelNames[i]!];
      const value = raw === undefined ? undefined : sanitizeLabelValue(raw);
      scratch[i] = value;
      key += (value ?? ABSENT) + SEPARATOR;
    }
    return key;
  }

  function keyed(input: LabelInput<L>): BoundLabels {
    const key = keyOf(input);
    const known = series.get(key);
    if (known !== undefined) return known;
    if (series.size >= limit) {
      onOverflow();
      return overflow;
    }
    // A fresh object: prom-client keeps a reference to it for the life of the series.
    const labels: BoundLabels = {};
    for (let i = 0; i < labelNames.length; i++) {
      const value = scratch[i];
      if (value !== undefined) labels[labelNames[i]!] = value;
    }
    series.set(key, labels);
    return labels;
  }
}
