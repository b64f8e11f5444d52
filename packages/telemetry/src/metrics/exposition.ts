import type { Registry, RegistryContentType } from 'prom-client';

/** The two text formats Keel serves. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

interface Sample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number | undefined>>;
  readonly metricName?: string;
  readonly exemplar?: {
    readonly labelSet: Readonly<Record<string, string | number>>;
    readonly value: number;
    readonly timestamp?: number;
  } | null;
}

interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: unknown;
  readonly values: readonly Sample[];
}

const KNOWN_TYPES = new Set(['counter', 'gauge', 'histogram', 'summary']);

/**
 * Renders every metric of `registry` in `format`. prom-client's own renderer holds one content type per registry
 * and renames counters in place when it renders OpenMetrics, so concurrent scrapes in both formats cannot share
 * it; this reads the registry's data and writes either format without touching the metrics.
 */
export async function renderRegistry(
  registry: Registry<RegistryContentType>,
  format: ExpositionFormat,
): Promise<string> {
  const families = (await registry.getMetricsAsJSON()) as unknown as readonly Family[];
  const open = format === 'openmetrics';
  const lines: string[] = [];
  for (const family of families) {
    const type = String(family.type);
    const counter = type === 'counter';
    // A counter's samples end in `_total` in both formats, so Prometheus stores one name whichever it negotiated.
    const base = counter ? family.name.replace(/_total$/, '') : family.name;
    const familyName = counter && !open ? `${base}_total` : base;
    const typeName = KNOWN_TYPES.has(type) ? type : open ? 'unknown' : 'untyped';
    const help = `# HELP ${familyName} ${escapeHelp(family.help, open)}`;
    const typeLine = `# TYPE ${familyName} ${typeName}`;
    if (open) lines.push(typeLine, help);
    else lines.push(help, typeLine);
    for (const sample of family.values) {
      const name = counter ? `${base}_total` : (sample.metricName ?? base);
      let line = `${name}${formatLabels(sample.labels)} ${formatNumber(sample.value)}`;
      const exemplar = sample.exemplar;
      // The plain text format has no exemplars; OpenMetrics allows them on counter totals and buckets only.
      if (open && exemplar && (counter || name.endsWith('_bucket')) && hasKeys(exemplar.labelSet)) {
        line += ` # ${formatLabels(exemplar.labelSet)} ${formatNumber(exemplar.value)}`;
        if (exemplar.timestamp !== undefined) line += ` ${exemplar.timestamp}`;
      }
      lines.push(line);
    }
  }
  return open ? `${lines.join('\n')}\n# EOF\n` : `${lines.join('\n')}\n`;
}

function formatLabels(labels: Readonly<Record<string, string | number | undefined>>): string {
  let out = '';
  for (const key in labels) {
    const value = labels[key];
    if (value === undefined) continue;
    const text =
      typeof value === 'number' && (key === 'le' || key === 'quantile') ? canonical(value) : String(value);
    out += `${out === '' ? '' : ','}${key}="${escapeLabelValue(text)}"`;
  }
  return out === '' ? '' : `{${out}}`;
}

// OpenMetrics wants `le`/`quantile` as canonical floats ("1.0", not "1"); Prometheus 3 stores them that way too.
function canonical(value: number): string {
  return Number.isInteger(value) && Math.abs(value) < 1e21 ? `${value}.0` : formatNumber(value);
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function escapeLabelValue(value: string): string {
  return /["\\\n]/.test(value)
    ? value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
    : value;
}

function escapeHelp(help: string, open: boolean): string {
  const escaped = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return open ? escaped.replace(/"/g, '\\"') : escaped;
}

function hasKeys(object: object): boolean {
  for (const _ in object) return true;
  return false;
}
