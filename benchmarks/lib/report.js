// The one report format of the benchmarks and its one renderer. Every script builds a report object,
// prints it rendered as markdown and writes it (with its raw samples) as JSON; run.js reads the JSON of
// every script and renders benchmarks/RESULTS.md with the same functions.
//
// A report: { id, title, measures, meta, sections: [section], targets: [target], skipped? }
// - meta: what runMeta() in lib/cli.js gathers, plus versions, loadStart, loadEnd, durationS;
// - section: { heading?, text?, table?: { head: [string], align: 'lrr…' (one letter a column), rows }, notes? };
// - target: { target, measured, met: true | false | null } (null: not measurable in this run).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';

const cell = (x) => String(x ?? '—').replace(/\|/g, '\\|');

/** A markdown table from `{ head, align, rows }`. */
export function renderTable({ head, align, rows }) {
  const rule = head.map((_, i) => (align?.[i] === 'r' ? '---:' : '---'));
  return [head, rule, ...rows].map((r) => `| ${r.map((x) => (r === rule ? x : cell(x))).join(' | ')} |`);
}

const flags = (execArgv) => (execArgv.length === 0 ? 'none' : execArgv.map((f) => `\`${f}\``).join(' '));

/** The run line of one benchmark: the command, its time, the machine's load and the source measured. */
export function runLine(meta) {
  const load =
    meta.loadStart === undefined
      ? ''
      : ` · 1-minute load average ${meta.loadStart.toFixed(2)} → ${meta.loadEnd.toFixed(2)}`;
  const time = meta.durationS === undefined ? '' : ` · ${meta.durationS.toFixed(0)} s`;
  return `\`${meta.command}\`${time}${load} · node flags: ${flags(meta.execArgv ?? [])} · Keel source ${meta.keelSource}`;
}

/** One report as markdown; `level` is the heading level of its title. */
export function renderReport(report, { level = 2, header = true } = {}) {
  const h = '#'.repeat(level);
  const out = [`${h} ${report.title}`, '', report.measures];
  if (report.skipped) {
    out.push('', `**Skipped:** ${report.skipped}`);
    return out.join('\n');
  }
  const m = report.meta;
  if (header) {
    out.push(
      '',
      `${m.date} · Node ${m.node} (V8 ${m.v8}) · ${m.cpu} (${m.cores} cores, ${m.platform})`,
      `${Object.entries(m.versions ?? {})
        .map(([k, v]) => `${k} ${v}`)
        .join(' · ')}`,
    );
  }
  out.push('', runLine(m));
  for (const s of report.sections) {
    if (s.heading) out.push('', `**${s.heading}**`);
    if (s.text) out.push('', s.text);
    if (s.table) out.push('', ...renderTable(s.table));
    for (const note of s.notes ?? []) out.push('', note);
  }
  if (report.targets?.length > 0) {
    out.push('', `${h}# Targets`, '');
    out.push(
      ...renderTable({
        head: ['target', 'measured', 'met'],
        align: 'lll',
        rows: report.targets.map((t) => [t.target, t.measured, verdict(t.met)]),
      }),
    );
  }
  return out.join('\n');
}

/** How a target reads in a table. */
export const verdict = (met) => (met === true ? 'yes' : met === false ? '**no**' : 'not measured');

/**
 * What every script does with its report: prints it, and writes `{ report, raw }` as JSON to `out`
 * (`--out=PATH`; run.js reads it back).
 */
export function emit(report, raw, out, log = (line) => process.stderr.write(`${line}\n`)) {
  process.stdout.write(`${renderReport(report)}\n`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ report, raw }, null, 2)}\n`);
  log(`\nwrote ${relative(process.cwd(), out)}`);
}

/** Formatting helpers shared by the scripts' tables. */
export const fmt = {
  fixed: (x, d) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d)),
  ratio: (x, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : `${x.toFixed(d)}×`),
  signed: (x, d = 1) =>
    x === null || x === undefined ? '—' : `${x < 0 ? '−' : '+'}${Math.abs(x).toFixed(d)}`,
  ns: (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1)),
  pct: (x, d = 1) =>
    x === null || x === undefined || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(d)} %`,
};
