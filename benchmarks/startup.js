// Cold start: process start → first response served, and peak resident memory, for bare Express against
// Express + startTelemetry() + keel() and against Express under OpenTelemetry's NodeSDK doing the same
// work. Each round starts one fresh process per contender, in an order that rotates by round; the
// report gives the medians and the median of the paired ratios.
//
//   node startup.js [--rounds=8] [--quick (4 rounds)] [--out=results/startup.json]

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finishMeta, flag, option, startRun } from './lib/cli.js';
import { median } from './lib/harness.js';
import { emit, fmt } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, 'lib', 'startup-child.js');
const CONTENDERS = {
  bare: 'bare Express',
  keel: 'Express + `startTelemetry()` + `keel()`',
  otel: 'Express + NodeSDK (http + express instrumentation) + prom-client histogram + pino-http',
};

/** Starts one contender and resolves with its start-to-first-response time and peak RSS. */
function coldStart(variant) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CHILD, variant], {
      cwd: here,
      // OTEL_* from the shell would change what the keel contender loads.
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_'))),
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    let firstResponseMs;
    child.on('message', async (message) => {
      if (message.port !== undefined) {
        const response = await fetch(`http://127.0.0.1:${message.port}/orders/1`);
        await response.arrayBuffer();
        firstResponseMs = performance.now() - started;
      } else if (message.peakRssBytes !== undefined) {
        child.once('exit', () => resolve({ firstResponseMs, peakRssBytes: message.peakRssBytes }));
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`${variant} child exited with ${code}`));
    });
  });
}

const quick = flag('quick');
const rounds = Number(option('rounds', quick ? 4 : 8));
const ids = Object.keys(CONTENDERS);
const samples = Object.fromEntries(ids.map((id) => [id, []]));
const run = startRun();
for (let round = 0; round < rounds; round++) {
  const order = ids.map((_, i) => ids[(i + round) % ids.length]);
  for (const id of order) samples[id].push(await coldStart(id));
  console.error(
    `round ${round + 1}/${rounds}: ${ids.map((id) => `${id} ${samples[id].at(-1).firstResponseMs.toFixed(0)} ms`).join(', ')}`,
  );
}

const mib = (bytes) => bytes / 1024 / 1024;
const pairedRatio = (id, key) => median(samples[id].map((r, i) => r[key] / samples.bare[i][key]));
const rows = ids.map((id) => ({
  id,
  label: CONTENDERS[id],
  firstResponseMs: median(samples[id].map((r) => r.firstResponseMs)),
  peakRssMiB: median(samples[id].map((r) => mib(r.peakRssBytes))),
  timeVsBare: pairedRatio(id, 'firstResponseMs'),
  rssVsBare: pairedRatio(id, 'peakRssBytes'),
}));
const keel = rows.find((r) => r.id === 'keel');
const otel = rows.find((r) => r.id === 'otel');
const meta = finishMeta(
  import.meta.url,
  ['packages/telemetry/src', 'packages/adapters-express/src'],
  run,
  [
    'express',
    '@opentelemetry/sdk-node',
    '@opentelemetry/instrumentation-http',
    '@opentelemetry/instrumentation-express',
    'prom-client',
    'pino-http',
  ],
  { rounds },
);
const report = {
  id: 'startup',
  title: 'Startup: process start to first response, and peak RSS',
  measures:
    'A cold start, from spawning the process to the first response served (`GET /orders/1`, timed by the parent until the body is read), and the peak resident set size (`maxRSS`, read once that response has finished), with no `OTEL_*` variables set.',
  meta,
  sections: [
    {
      text: `${rounds} rounds of one fresh process per contender, order rotating each round; medians, and the median of per-round ratios to bare.`,
      table: {
        head: ['contender', 'start → first response (median)', '÷ bare', 'peak RSS (median)', '÷ bare'],
        align: 'lrrrr',
        rows: rows.map((r) => [
          r.label,
          `${r.firstResponseMs.toFixed(0)} ms`,
          fmt.ratio(r.timeVsBare),
          `${r.peakRssMiB.toFixed(1)} MiB`,
          fmt.ratio(r.rssVsBare),
        ]),
      },
    },
  ],
  targets: [
    {
      target: '≤ 1.5× bare time',
      measured: `${fmt.ratio(keel.timeVsBare)} (OpenTelemetry stack ${fmt.ratio(otel.timeVsBare)})`,
      met: keel.timeVsBare <= 1.5,
    },
    {
      target: '≤ 1.2× bare peak RSS',
      measured: `${fmt.ratio(keel.rssVsBare)} (OpenTelemetry stack ${fmt.ratio(otel.rssVsBare)})`,
      met: keel.rssVsBare <= 1.2,
    },
  ],
};
emit(report, samples, option('out', join(here, 'results', 'startup.json')));
