// A small reader of the Prometheus text format: just what the live view needs from each service's /metrics.

/** One sample line: metric name, labels, value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/** Parses a scrape body; comment, blank and malformed lines are skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = LINE.exec(line);
    if (match === null) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = unescapeLabel(value!);
    const raw = match[3]!;
    const value =
      raw === '+Inf' ? Number.POSITIVE_INFINITY : raw === '-Inf' ? Number.NEGATIVE_INFINITY : Number(raw);
    if (!Number.isNaN(value) || raw === 'NaN') samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** A label filter: an exact value, or a predicate on the value ('' when the label is absent). */
export type Match = Readonly<Record<string, string | ((value: string) => boolean)>>;

function matches(sample: Sample, match: Match): boolean {
  for (const [key, want] of Object.entries(match)) {
    const have = sample.labels[key] ?? '';
    if (typeof want === 'string' ? have !== want : !want(have)) return false;
  }
  return true;
}

/** The sum of the samples of `name` whose labels match. */
export function sum(samples: readonly Sample[], name: string, match: Match = {}): number {
  let total = 0;
  for (const sample of samples) if (sample.name === name && matches(sample, match)) total += sample.value;
  return total;
}

/** Cumulative bucket counts of a histogram family, summed over its matching series, by upper bound. */
export function buckets(samples: readonly Sample[], family: string, match: Match = {}): Map<number, number> {
  const out = new Map<number, number>();
  for (const sample of samples) {
    if (sample.name !== `${family}_bucket` || !matches(sample, match)) continue;
    const le = sample.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(sample.labels.le);
    out.set(le, (out.get(le) ?? 0) + sample.value);
  }
  return out;
}

/**
 * The q-quantile of the observations between two scrapes of a histogram (cumulative buckets by bound),
 * interpolated linearly inside its bucket as Prometheus' histogram_quantile does; undefined when none.
 */
export function quantileBetween(
  before: Map<number, number>,
  after: Map<number, number>,
  q: number,
): number | undefined {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const le = bounds[i]!;
    const count = counts[i]!;
    if (count >= rank) {
      if (le === Number.POSITIVE_INFINITY) return lower;
      const inBucket = count - below;
      return inBucket <= 0 ? le : lower + ((le - lower) * (rank - below)) / inBucket;
    }
    lower = le;
    below = count;
  }
  return lower;
}
