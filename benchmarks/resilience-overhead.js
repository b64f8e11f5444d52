import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { option, runMeta, versionOf } from './lib/cli.js';
import { interleave, median, pairedMedian, promiseHooksOn, quantile, serve } from './lib/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const call = () => Promise.resolve(1);

function bare() {
  return {
    id: 'bare',
    label: 'bare call',
    policies: '—',
    loop: async (n) => {
      let sum = 0;
      for (let i = 0; i < n; i++) sum += await call();
      return sum;
    },
  };
}

async function cockatielContenders() {
  const {
    bulkhead,
    circuitBreaker,
    ConsecutiveBreaker,
    ExponentialBackoff,
    handleAll,
    retry,
    TimeoutStrategy,
    timeout,
    wrap,
  } = await import('cockatiel');
  // cockatiel's maxAttempts counts retries: 2 retries = 3 attempts, as in Keel's maxAttempts: 3.
  const build = (timeoutOptions) =>
    wrap(
      retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
      circuitBreaker(handleAll, { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(5) }),
      bulkhead(1000),
      timeout(1000, timeoutOptions),
    );
  const standard = build(TimeoutStrategy.Aggressive);
  // By default the timeout aborts its signal when the call returns, which builds a DOMException (with a
  // stack) on every call; turning that off is cockatiel's cheapest faithful configuration.
  const tuned = build({ strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
  const policies = 'retry(3 attempts) + breaker(5 consecutive) + bulkhead(1000) + timeout(1 s, aggressive)';
  return [
    {
      id: 'cockatiel',
      label: 'cockatiel 4 `wrap`',
      policies,
      loop: async (n) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += await standard.execute(call);
        return sum;
      },
    },
    {
      id: 'cockatiel-tuned',
      label: 'cockatiel 4 `wrap`, `abortOnReturn: false`',
      policies: `the same; the timeout does not abort its signal on return`,
      loop: async (n) => {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += await tuned.execute(call);
        return sum;
      },
    },
  ];
}

async function opossumContenders() {
  const { default: CircuitBreaker } = await import('opossum');
  const plain = new CircuitBreaker(call, { timeout: 1000 });
  const capped = new CircuitBreaker(call, { timeout: 1000, capacity: 1000 });
  return {
    dispose: () => {
      plain.shutdown();
      capped.shutdown();
    },
    contenders: [
      {
        id: 'opossum',
        label: 'opossum 10 `fire()`',
        policies: 'breaker (50 % over 10 s) + timeout(1 s); no retry',
        loop: async (n) => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += await plain.fire();
          return sum;
        },
      },
      {
        id: 'opossum-cap',
        label: 'opossum 10 `fire()`, capacity',
        policies: 'breaker + timeout(1 s) + capacity(1000); no retry',
        loop: async (n) => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += await capped.fire();
          return sum;
        },
      },
    ],
  };
}

async function keelContenders() {
  const { pipeline } = await import('@keel/resilience');
  const full = pipeline('bench', {
    timeout: 1_000,
    totalTimeout: false,
    retry: { maxAttempts: 3 },
    circuitBreaker: { consecutiveFailures: 5 },
    bulkhead: { maxConcurrent: 1000 },
  });
  const defaults = pipeline('bench-defaults', { bulkhead: { maxConcurrent: 1000 } });
  return {
    defaults,
    dispose: () => {
      full.dispose();
      defaults.dispose();
    },
    contenders: [
      {
        id: 'keel-full',
        label: 'Keel `pipeline`',
        policies: 'timeout(1 s) + retry(3 attempts) + breaker(5 consecutive) + bulkhead(1000)',
        loop: async (n) => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += await full.execute(call);
          return sum;
        },
      },
      {
        id: 'keel-defaults',
        label: 'Keel `pipeline`, defaults',
        policies: 'defaults (total timeout 30 s + retry + ratio breaker + timeout 10 s) + bulkhead(1000)',
        loop: async (n) => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += await defaults.execute(call);
          return sum;
        },
      },
    ],
  };
}

const ENVIRONMENTS = {
  quiet: 'No AsyncLocalStorage active (no OpenTelemetry SDK; Keel pipelines without a total timeout)',
  hooked:
    'AsyncLocalStorage active (OpenTelemetry SDK running, or any Keel pipeline with a total timeout — the default — has run)',
};

async function buildWorker(env) {
  const keel = await keelContenders();
  let environment = ENVIRONMENTS[env];
  if (env === 'hooked') {
    // What turns the hooks on in a Keel-only service: the first call of a pipeline with a total timeout.
    await keel.defaults.execute(call);
    // Under --experimental-async-context-frame (the default from Node 24) AsyncLocalStorage needs no hooks.
    if (!promiseHooksOn()) environment += '; AsyncContextFrame, so no promise hooks';
  } else if (promiseHooksOn()) {
    throw new Error('quiet: an AsyncLocalStorage is active before any call');
  }
  const opossum = await opossumContenders();
  const ours = env === 'hooked' ? keel.contenders : keel.contenders.filter((c) => c.id !== 'keel-defaults');
  return {
    environment,
    contenders: [bare(), ...ours, ...(await cockatielContenders()), ...opossum.contenders],
    dispose: () => {
      keel.dispose();
      opossum.dispose();
    },
  };
}

// ---------------------------------------------------------------- report

const ns = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const ratio = (x) => (Number.isFinite(x) ? `${x.toFixed(1)}×` : '—');

function summarise(slots) {
  const get = (key) => slots.find((s) => s.key === key);
  const rows = slots.map((s) => {
    const base = get(`${s.env}/bare`);
    const ours = get(`${s.env}/keel-full`);
    const overhead = s.id === 'bare' ? 0 : pairedMedian(s.ns, base.ns);
    const isPeer = s.id !== 'bare' && !s.id.startsWith('keel');
    return {
      environment: s.env,
      environmentText: s.environment,
      id: s.id,
      label: s.label,
      policies: s.policies,
      callsPerBlock: s.calls,
      nsPerCall: median(s.ns),
      nsP25: quantile(s.ns, 0.25),
      nsP75: quantile(s.ns, 0.75),
      overheadNs: overhead,
      // How many times Keel's full pipeline overhead (same process) this contender's overhead is.
      overheadVsKeelFull: isPeer && ours ? overhead / pairedMedian(ours.ns, base.ns) : null,
      bytesPerCall: median(s.bytes),
      extraBytesPerCall: s.id === 'bare' ? 0 : median(s.bytes) - median(base.bytes),
      promiseHooks: s.hooks,
      // The process-wide switch stayed where the environment set it, in every block.
      consistent: s.hooked.every((h) => h === s.hooks),
      samples: { ns: s.ns, bytes: s.bytes, gcsInAllocBlock: s.gcs },
    };
  });
  const targets = { byEnvironment: {} };
  for (const env of Object.keys(ENVIRONMENTS)) {
    const bareRow = get(`${env}/bare`);
    const ours = get(`${env}/keel-full`);
    if (!bareRow || !ours) continue;
    const t = { keelFullOverheadNs: pairedMedian(ours.ns, bareRow.ns) };
    const cockatiel = get(`${env}/cockatiel`);
    if (cockatiel) {
      t.cockatielOverheadOverOurs = pairedMedian(cockatiel.ns, bareRow.ns) / t.keelFullOverheadNs;
    }
    const tuned = get(`${env}/cockatiel-tuned`);
    if (tuned) t.cockatielTunedOverheadOverOurs = pairedMedian(tuned.ns, bareRow.ns) / t.keelFullOverheadNs;
    targets.byEnvironment[env] = t;
  }
  const quietBare = get('quiet/bare');
  const hookedBare = get('hooked/bare');
  if (quietBare && hookedBare)
    targets.asyncLocalStorageCostOnBareCallNs = pairedMedian(hookedBare.ns, quietBare.ns);
  return { rows, targets };
}

function markdown(meta, { rows, targets }) {
  const out = [];
  out.push(
    `- Date: ${meta.date} · Node ${meta.node} (V8 ${meta.v8}) · ${meta.cpu} (${meta.cores} cores, ${meta.platform})`,
  );
  out.push(
    `- Keel source: ${meta.keelSource} · cockatiel ${meta.versions.cockatiel} · opossum ${meta.versions.opossum}`,
  );
  out.push(`- Command: ${meta.command}`);
  out.push(
    `- Run: ${meta.durationS.toFixed(0)} s; 1-minute load average ${meta.loadAverage1m.start.toFixed(2)} at the start, ${meta.loadAverage1m.end.toFixed(2)} at the end (the run itself accounts for about 1).`,
  );
  out.push(
    `- Method: ${meta.rounds} interleaved rounds; each timed block: gc(), ≈ ${meta.settleMs} ms untimed settling, then ≈ ${meta.blockMs} ms of sequential awaited calls (${meta.minCalls.toLocaleString('en')}–${meta.maxCalls.toLocaleString('en')} calls, sized at warm-up); ` +
      'ns/call is the median over rounds (p25–p75 its spread), overhead the median of per-round differences from the bare call in the same process; ' +
      `bytes/call ≈ heapUsed delta + bytes freed by GCs during a separate block of up to ${meta.allocCalls.toLocaleString('en')} calls (an approximation).`,
  );
  for (const env of Object.keys(ENVIRONMENTS)) {
    const mine = rows.filter((r) => r.environment === env);
    if (mine.length === 0) continue;
    out.push('', `**${env}** — ${mine[0].environmentText}`, '');
    out.push(
      "| contender | policies | ns/call (median) | p25–p75 | overhead vs bare (ns) | peer overhead ÷ Keel's | bytes/call ≈ | extra bytes vs bare ≈ |",
    );
    out.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of mine) {
      const wrong = !r.consistent;
      out.push(
        `| ${r.label}${wrong ? ' (!)' : ''} | ${r.policies} | ${ns(r.nsPerCall)} | ${ns(r.nsP25)}–${ns(r.nsP75)} | ${r.id === 'bare' ? '—' : ns(r.overheadNs)} | ` +
          `${r.overheadVsKeelFull === null ? '—' : ratio(r.overheadVsKeelFull)} | ${r.bytesPerCall.toFixed(0)} | ${r.id === 'bare' ? '—' : r.extraBytesPerCall.toFixed(0)} |`,
      );
    }
    if (mine.some((r) => !r.consistent)) {
      out.push(
        '',
        '(!) promise hooks were switched on or off during the run in this process: treat the row as suspect.',
      );
    }
  }
  const mark = (ok) => (ok ? 'met' : '**not met**');
  const lines = [];
  for (const [env, t] of Object.entries(targets.byEnvironment)) {
    lines.push(
      `- ${env}: the full pipeline adds ${ns(t.keelFullOverheadNs)} ns per call (target ≤ 1000 ns: ${mark(t.keelFullOverheadNs <= 1000)})` +
        (t.cockatielOverheadOverOurs === undefined
          ? '.'
          : `; cockatiel's \`wrap\` of the same four adds ${ratio(t.cockatielOverheadOverOurs)} as much (target ≥ 10×: ${mark(t.cockatielOverheadOverOurs >= 10)})` +
            (t.cockatielTunedOverheadOverOurs === undefined
              ? '.'
              : `, ${ratio(t.cockatielTunedOverheadOverOurs)} with \`abortOnReturn: false\` (${mark(t.cockatielTunedOverheadOverOurs >= 10)}).`)),
    );
  }
  if (lines.length > 0) {
    out.push('', '**Targets** (issue "Speed — a benchmark, not a timed test")', '', ...lines);
    const cost = targets.asyncLocalStorageCostOnBareCallNs;
    if (cost !== undefined) {
      out.push(
        rows.find((r) => r.environment === 'hooked')?.promiseHooks
          ? `- The active AsyncLocalStorage by itself adds ${ns(cost)} ns to even the bare call (hooked − quiet), and a like cost to every promise of any other code in that process.`
          : `- With AsyncContextFrame the active AsyncLocalStorage adds ${ns(cost)} ns to the bare call (hooked − quiet).`,
      );
    }
  }
  return out.join('\n');
}

async function main() {
  const rounds = Number(option('rounds', 10));
  const blockMs = Number(option('block-ms', 120));
  const settleMs = Number(option('settle-ms', 40));
  const maxCalls = Number(option('max-calls', 200_000));
  const minCalls = Number(option('min-calls', 10_000));
  const allocCalls = Number(option('alloc-calls', 20_000));
  const warmupMs = Number(option('warmup-ms', 600));
  const only = option('only', undefined)?.split(',');
  const out = option('out', join(here, 'results', 'resilience-overhead.json'));
  const log = (line) => process.stderr.write(`${line}\n`);
  const started = Date.now();
  const loadBefore = loadavg()[0];
  const slots = await interleave({
    script: fileURLToPath(import.meta.url),
    environments: Object.keys(ENVIRONMENTS),
    rounds,
    maxCalls,
    minCalls,
    blockMs,
    settleMs,
    allocCalls,
    warmupMs,
    only,
    log,
  });
  const meta = {
    ...runMeta(import.meta.url, ['packages/resilience/src']),
    versions: { cockatiel: versionOf('cockatiel'), opossum: versionOf('opossum') },
    rounds,
    blockMs,
    settleMs,
    maxCalls,
    minCalls,
    allocCalls,
    warmupMs,
    durationS: (Date.now() - started) / 1000,
    // The run itself keeps about one core busy; more than that means something else ran alongside.
    loadAverage1m: { start: loadBefore, end: loadavg()[0] },
  };
  const summary = summarise(slots);
  const table = markdown(meta, summary);
  process.stdout.write(`${table}\n`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ meta, ...summary, markdown: table }, null, 2)}\n`);
  log(`\nwrote ${relative(process.cwd(), out)} (${meta.durationS.toFixed(1)} s)`);
}

const worker = process.argv.indexOf('--worker');
if (worker >= 0) await serve(() => buildWorker(process.argv[worker + 1]));
else await main();
