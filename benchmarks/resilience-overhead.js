import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finishMeta, flag, option, startRun } from './lib/cli.js';
import { interleave, median, pairedMedian, promiseHooksOn, quantile, serve } from './lib/harness.js';
import { emit, fmt } from './lib/report.js';

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

function report(meta, { rows, targets }) {
  const sections = [
    {
      text:
        `${meta.rounds} interleaved rounds; each timed block: gc(), ≈ ${meta.settleMs} ms untimed settling, then ≈ ${meta.blockMs} ms of sequential awaited calls (${meta.minCalls.toLocaleString('en')}–${meta.maxCalls.toLocaleString('en')} calls, sized at warm-up); ` +
        'ns/call is the median over rounds (p25–p75 its spread), overhead the median of per-round differences from the bare call in the same process; ' +
        `bytes/call ≈ heapUsed delta + bytes freed by GCs during a separate block of up to ${meta.allocCalls.toLocaleString('en')} calls (an approximation).`,
    },
  ];
  for (const env of Object.keys(ENVIRONMENTS)) {
    const mine = rows.filter((r) => r.environment === env);
    if (mine.length === 0) continue;
    sections.push({
      heading: `${env} — ${mine[0].environmentText}`,
      table: {
        head: [
          'contender',
          'policies',
          'ns/call (median)',
          'p25–p75',
          'overhead vs bare (ns)',
          "peer overhead ÷ Keel's",
          'bytes/call ≈',
          'extra bytes vs bare ≈',
        ],
        align: 'llrrrrrr',
        rows: mine.map((r) => [
          `${r.label}${r.consistent ? '' : ' (!)'}`,
          r.policies,
          fmt.ns(r.nsPerCall),
          `${fmt.ns(r.nsP25)}–${fmt.ns(r.nsP75)}`,
          r.id === 'bare' ? '—' : fmt.ns(r.overheadNs),
          r.overheadVsKeelFull === null ? '—' : fmt.ratio(r.overheadVsKeelFull, 1),
          r.bytesPerCall.toFixed(0),
          r.id === 'bare' ? '—' : r.extraBytesPerCall.toFixed(0),
        ]),
      },
      notes: mine.some((r) => !r.consistent)
        ? [
            '(!) promise hooks were switched on or off during the run in this process: treat the row as suspect.',
          ]
        : [],
    });
  }
  const cost = targets.asyncLocalStorageCostOnBareCallNs;
  if (cost !== undefined) {
    sections.push({
      text: rows.find((r) => r.environment === 'hooked')?.promiseHooks
        ? `The active AsyncLocalStorage by itself adds ${fmt.ns(cost)} ns to even the bare call (hooked − quiet), and a like cost to every promise of any other code in that process.`
        : `With AsyncContextFrame the active AsyncLocalStorage adds ${fmt.ns(cost)} ns to the bare call (hooked − quiet).`,
    });
  }
  const list = [];
  const hooked = targets.byEnvironment.hooked;
  if (hooked) {
    list.push({
      target: 'full pipeline ≤ 1 µs added per call with AsyncLocalStorage active',
      measured: `${fmt.ns(hooked.keelFullOverheadNs)} ns`,
      met: hooked.keelFullOverheadNs <= 1000,
    });
  }
  for (const [env, t] of Object.entries(targets.byEnvironment)) {
    if (t.cockatielOverheadOverOurs === undefined) continue;
    list.push({
      target: `${env}: ≥ 10× cheaper than cockatiel's \`wrap\` of the same policies`,
      measured:
        `${fmt.ratio(t.cockatielOverheadOverOurs, 1)}` +
        (t.cockatielTunedOverheadOverOurs === undefined
          ? ''
          : ` (${fmt.ratio(t.cockatielTunedOverheadOverOurs, 1)} against \`abortOnReturn: false\`)`),
      met: t.cockatielOverheadOverOurs >= 10,
    });
  }
  return {
    id: 'resilience-overhead',
    title: 'Policies: what a resilience pipeline adds per call',
    measures:
      'ns and bytes per call a pipeline adds on the success path (sequential awaited calls of `() => Promise.resolve(1)`): Keel, cockatiel 4, opossum 10, without and with an AsyncLocalStorage active.',
    meta,
    sections,
    targets: list,
  };
}

async function main() {
  const quick = flag('quick');
  const rounds = Number(option('rounds', quick ? 3 : 10));
  const blockMs = Number(option('block-ms', quick ? 60 : 120));
  const settleMs = Number(option('settle-ms', quick ? 20 : 40));
  const maxCalls = Number(option('max-calls', 200_000));
  const minCalls = Number(option('min-calls', quick ? 5_000 : 10_000));
  const allocCalls = Number(option('alloc-calls', quick ? 10_000 : 20_000));
  const warmupMs = Number(option('warmup-ms', quick ? 300 : 600));
  const only = option('only', undefined)?.split(',');
  const out = option('out', join(here, 'results', 'resilience-overhead.json'));
  const log = (line) => process.stderr.write(`${line}\n`);
  const run = startRun();
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
  const meta = finishMeta(import.meta.url, ['packages/resilience/src'], run, ['cockatiel', 'opossum'], {
    rounds,
    blockMs,
    settleMs,
    maxCalls,
    minCalls,
    allocCalls,
    warmupMs,
  });
  const summary = summarise(slots);
  emit(report(meta, summary), summary, out, log);
}

const worker = process.argv.indexOf('--worker');
if (worker >= 0) await serve(() => buildWorker(process.argv[worker + 1]));
else await main();
