// Cold start: process start → first response served, and peak resident memory, for bare Express against
// Express + startTelemetry() + keel(). Each round starts one fresh process per contender, in an order
// that alternates by round; the report gives the medians and the median of the paired ratios.
//
//   node startup.js [--rounds=8] [--quick] [--out=results/startup.json]

import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, option, runMeta } from './lib/cli.js';
import { median } from './lib/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const CHILD = join(here, 'lib', 'startup-child.js');
const CONTENDERS = {
  bare: 'bare Express',
  keel: 'Express + `startTelemetry()` + `keel()`',
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
const rounds = quick ? 2 : Number(option('rounds', 8));
const samples = { bare: [], keel: [] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? ['bare', 'keel'] : ['keel', 'bare'];
  for (const id of order) samples[id].push(await coldStart(id));
  const last = (id) => samples[id].at(-1);
  console.error(
    `round ${round + 1}/${rounds}: bare ${last('bare').firstResponseMs.toFixed(0)} ms, keel ${last('keel').firstResponseMs.toFixed(0)} ms`,
  );
}

const mib = (bytes) => bytes / 1024 / 1024;
const summary = Object.fromEntries(
  Object.entries(samples).map(([id, runs]) => [
    id,
    {
      label: CONTENDERS[id],
      firstResponseMs: median(runs.map((r) => r.firstResponseMs)),
      peakRssMiB: median(runs.map((r) => mib(r.peakRssBytes))),
    },
  ]),
);
const pairedRatio = (key) => median(samples.keel.map((r, i) => r[key] / samples.bare[i][key]));
const ratios = { firstResponse: pairedRatio('firstResponseMs'), peakRss: pairedRatio('peakRssBytes') };
const table = [
  '| contender | start → first response (median) | peak RSS (median) |',
  '| --- | ---: | ---: |',
  ...Object.values(summary).map(
    (s) => `| ${s.label} | ${s.firstResponseMs.toFixed(0)} ms | ${s.peakRssMiB.toFixed(1)} MiB |`,
  ),
  `| keel ÷ bare (median of ${rounds} paired runs) | ${ratios.firstResponse.toFixed(2)}× | ${ratios.peakRss.toFixed(2)}× |`,
].join('\n');
console.log(table);

const out = option('out', join(here, 'results', 'startup.json'));
mkdirSync(dirname(out), { recursive: true });
const meta = {
  ...runMeta(import.meta.url, ['packages/telemetry/src', 'packages/adapters-express/src']),
  rounds,
  quick,
};
writeFileSync(out, `${JSON.stringify({ meta, summary, ratios, samples, markdown: table }, null, 2)}\n`);
