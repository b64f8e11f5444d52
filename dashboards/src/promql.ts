// PromQL the panels share. Every selector is scoped by the dashboard variables, so a query never
// reaches past the services (and pipelines) the viewer picked.

/** `service=~"$service"`: the scrape config's target label, the only service label Keel's series get. */
export const SERVICE = 'service=~"$service"';
/** `pipeline=~"$pipeline"`. */
export const PIPELINE = 'pipeline=~"$pipeline"';

/** A selector: `metric{matchers}`. */
export function select(metric: string, ...matchers: string[]): string {
  return `${metric}{${matchers.join(', ')}}`;
}

/** Per-second rate of a counter (or a histogram's `_count`), summed by `by`. */
export function rate(metric: string, by: readonly string[], ...matchers: string[]): string {
  return `sum by (${by.join(', ')}) (rate(${select(metric, ...matchers)}[$__rate_interval]))`;
}

/**
 * The share of `total`'s rate that matches `failed`. A group without failures reads 0, not "no data":
 * its failures are filled in as the total times zero.
 */
export function ratio(metric: string, by: readonly string[], failed: string, ...matchers: string[]): string {
  const all = rate(metric, by, ...matchers);
  return `(${rate(metric, by, ...matchers, failed)} or ${all} * 0) / ${all}`;
}

/** The `q` quantile of a duration histogram, per `by` group. */
export function quantile(q: number, histogram: string, by: readonly string[], ...matchers: string[]): string {
  return `histogram_quantile(${q}, ${rate(`${histogram}_bucket`, ['le', ...by], ...matchers)})`;
}

/** A gauge, one series per `by` group (the largest value when several instances report one). */
export function gauge(metric: string, by: readonly string[], ...matchers: string[]): string {
  return `max by (${by.join(', ')}) (${select(metric, ...matchers)})`;
}

/** Legend `{{a}} {{b}}` for labels `[a, b]`, after an optional prefix. */
export function legend(labels: readonly string[], prefix?: string): string {
  const text = labels.map((label) => `{{${label}}}`).join(' ');
  return prefix === undefined ? text : `${prefix} ${text}`;
}
