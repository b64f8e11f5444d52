// Runs every benchmark in sequence, each in a process of its own with a time budget, and renders
// benchmarks/RESULTS.md from the JSON report each one writes (lib/report.js).
//
//   npm run bench                    # from the repository root: builds, then the quick mode (< 6 min on 2 cores)
//   npm run bench -- --full          # the longer runs each script does without --quick
//   node run.js [--full] [--only=grpc,startup] [--out=RESULTS.md]
//
// A benchmark that fails or overruns its budget is reported as such in RESULTS.md; the others still run.

import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, option, sourceState, versionOf } from './lib/cli.js';
import { machine } from './lib/harness.js';
import { renderReport, renderTable, verdict } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');

/** Every benchmark: its script, node flags, and its budget in seconds (quick, full). */
const BENCHMARKS = [
  { id: 'resilience-overhead', script: 'resilience-overhead.js', node: ['--expose-gc'], budget: [90, 600] },
  { id: 'telemetry-server', script: 'telemetry-server.js', node: ['--expose-gc'], budget: [90, 600] },
  { id: 'express-server', script: 'express-server.js', budget: [75, 600] },
  { id: 'express-in-process', script: 'express-in-process.js', budget: [60, 300] },
  { id: 'http-client', script: 'http-client.js', budget: [90, 600] },
  { id: 'grpc', script: 'grpc.js', budget: [75, 600] },
  { id: 'amqp', script: 'amqp.js', budget: [60, 300] },
  { id: 'startup', script: 'startup.js', budget: [60, 300] },
  { id: 'effectiveness', script: 'effectiveness.js', budget: [240, 1200] },
];

/** The packages whose versions head the report: Keel's own and every peer measured against. */
const PEERS = [
  '@opentelemetry/api',
  '@opentelemetry/sdk-node',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/instrumentation-http',
  '@opentelemetry/instrumentation-express',
  '@opentelemetry/instrumentation-undici',
  '@opentelemetry/instrumentation-grpc',
  '@opentelemetry/instrumentation-amqplib',
  'cockatiel',
  'opossum',
  'prom-client',
  'pino',
  'pino-http',
  'express',
  'undici',
  '@grpc/grpc-js',
  'amqplib',
  'autocannon',
];

function keelVersions() {
  const dir = join(root, 'packages');
  return readdirSync(dir).flatMap((name) => {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, name, 'package.json'), 'utf8'));
      return [`${pkg.name} ${pkg.version}`];
    } catch {
      return [];
    }
  });
}

const log = (line) => process.stderr.write(`${line}\n`);

/** Runs one benchmark; resolves with its report, or a report saying why there is none. */
function runOne(b, full) {
  const out = join('results', `${b.id}.json`);
  const args = [...(b.node ?? []), b.script, ...(full ? [] : ['--quick']), `--out=${out}`];
  const budgetS = b.budget[full ? 1 : 0];
  // Relative to benchmarks/, the child's working directory, so the command in the report reads as run there.
  // The child reports its own node command, not this npm script.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_lifecycle')));
  const started = Date.now();
  log(`\n── ${b.id}: node ${args.join(' ')} (budget ${budgetS} s)`);
  return new Promise((resolve) => {
    // Its own process group, so an overrun kills the benchmark's children with it.
    const child = spawn(process.execPath, args, {
      cwd: here,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child.stdout.resume(); // the rendered report: RESULTS.md has it
    let overran = false;
    const timer = setTimeout(() => {
      overran = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }, budgetS * 1000);
    const failed = (why) => ({
      id: b.id,
      title: b.id,
      measures: `\`${b.script}\``,
      skipped: why,
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const seconds = (Date.now() - started) / 1000;
      log(
        `── ${b.id}: ${overran ? 'overran its budget' : `exit ${signal ?? code}`} after ${seconds.toFixed(0)} s`,
      );
      if (overran) return resolve(failed(`overran its budget of ${budgetS} s and was stopped.`));
      if (code !== 0)
        return resolve(
          failed(
            `failed (exit ${signal ?? code}); run \`node ${args.join(' ')}\` in benchmarks/ to see why.`,
          ),
        );
      try {
        resolve(JSON.parse(readFileSync(join(here, out), 'utf8')).report);
      } catch (error) {
        resolve(failed(`wrote no readable report (${error.message}).`));
      }
    });
  });
}

function command(full, only) {
  const args = [full ? '--full' : undefined, only ? `--only=${only.join(',')}` : undefined].filter(Boolean);
  if (process.env.npm_lifecycle_event === 'bench')
    return `npm run bench${args.length === 0 ? '' : ` -- ${args.join(' ')}`}`;
  return ['node', relative(process.cwd(), fileURLToPath(import.meta.url)), ...args].join(' ');
}

function results({ reports, full, only, started, loadStart }) {
  const m = machine();
  const minutes = (Date.now() - started) / 60_000;
  const lines = [
    '# Benchmark results',
    '',
    'Generated by `benchmarks/run.js` from the JSON report of each benchmark; regenerate it rather than editing it.',
    'What each benchmark measures and how: [README.md](README.md).',
    '',
    `- Date: ${new Date(started).toISOString()}`,
    `- Command: \`${command(full, only)}\` (${full ? 'full' : 'quick'} mode) · ${minutes.toFixed(1)} min · 1-minute load average ${loadStart.toFixed(2)} at the start, ${loadavg()[0].toFixed(2)} at the end`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.platform} · Node ${process.versions.node} (V8 ${process.versions.v8})`,
    `- Keel: source ${sourceState(['packages'])} · ${keelVersions().join(' · ')}`,
    `- Peers: ${PEERS.map((p) => `${p} ${versionOf(p)}`).join(' · ')}`,
    '',
    'Every ratio compares rows measured in the same run of the same benchmark. ' +
      (full
        ? ''
        : 'Quick mode runs fewer and shorter rounds than `--full`: read its ratios, not its absolute figures, and expect them to move by several per cent between runs. '),
    '',
    '## Targets',
    '',
    ...renderTable({
      head: ['benchmark', 'target', 'measured', 'met'],
      align: 'llll',
      rows: reports.flatMap((r) =>
        r.skipped
          ? [[`[${r.id}](#${r.id})`, '—', r.skipped, 'not measured']]
          : (r.targets ?? []).map((t) => [`[${r.id}](#${r.id})`, t.target, t.measured, verdict(t.met)]),
      ),
    }),
  ];
  for (const r of reports) {
    lines.push('', `<a id="${r.id}"></a>`, '', renderReport(r, { level: 2, header: false }));
  }
  return `${lines.join('\n')}\n`;
}

async function main() {
  const full = flag('full');
  const only = option('only', undefined)?.split(',');
  const out = option('out', join(here, 'RESULTS.md'));
  const started = Date.now();
  const loadStart = loadavg()[0];
  const selected = BENCHMARKS.filter((b) => only === undefined || only.includes(b.id));
  if (selected.length === 0) throw new Error(`--only: no benchmark named ${only.join(', ')}`);
  const reports = [];
  for (const b of selected) reports.push(await runOne(b, full));
  writeFileSync(out, results({ reports, full, only, started, loadStart }));
  log(`\nwrote ${relative(process.cwd(), out)} in ${((Date.now() - started) / 60_000).toFixed(1)} min`);
}

await main();
