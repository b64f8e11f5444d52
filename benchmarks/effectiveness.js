// Effectiveness under faults: six client configurations (lib/fault-policies.js) against a simulated
// downstream whose behaviour follows a schedule — transient errors, a latency spike, a full outage and its
// recovery — under steady open-loop load (lib/open-loop.js), and the same outage behind a chain of three
// hops that each retry. Per configuration: goodput, client latency, the load each hop puts on the next
// (calls received ÷ requests made), the time to serve normally again after the downstream heals, and the
// client's memory growth.
//
//   node effectiveness.js [--quick] [--only=errors,outage] [--configs=none,keel-default] [--out=results/effectiveness.json]
//
// Every process is separate: the downstream, the two middle hops (one process, two servers) and the
// client each have their own event loop, so the downstream's timers and the hops' work do not delay the
// client's sends or skew its latency. One configuration runs at a time, each with fresh processes.

import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { finishMeta, flag, option, startRun } from './lib/cli.js';
import {
  BASE_CONFIGS,
  CONFIGS,
  httpAttempt,
  SERVICE_TIMEOUT_MS,
  TUNED_TIMEOUT_MS,
} from './lib/fault-policies.js';
import { callsDue, openLoop, receivedIn, recoveryMs, summarise } from './lib/open-loop.js';
import { emit, fmt } from './lib/report.js';

const script = fileURLToPath(import.meta.url);
const here = dirname(script);
const BIN_MS = 100; // the downstream counts what it receives per bin
const RECOVERY_BIN_MS = 250; // the client's success rate after the heal, per bin
const RECOVERED = 0.95; // …at or above which a bin counts as normal service
const BASE_MS = 2; // the downstream's latency: BASE_MS + an exponential draw of mean MEAN_MS
const MEAN_MS = 2;
const P99_MS = BASE_MS + MEAN_MS * Math.log(100);
const KEEL_BREAK_MS = 5_000; // Keel's default break duration (packages/resilience/README.md)
const WARMUP_CALLS = 50;
const SLOW_SHARE = 0.03; // long tail: the share of calls 20 × slower, independently
const CAPACITY = { before: 6, after: 3 }; // capacity scenario: calls the downstream serves at once
const SERVICE = { base: 20, mean: 20 }; // …each taking 20 ms + an exponential draw of mean 20 ms
const CAPACITY_RATE = 100; // …at 100 requests/s: 4 calls in service on average, ×1.33 the halved capacity

// ---------------------------------------------------------------- scenarios

function scenarios(quick) {
  const outage = quick
    ? { before: 500, outage: 4_000, after: 5_500 }
    : { before: 2_000, outage: 10_000, after: 12_000 };
  const outagePhases = [{ from: outage.before, to: outage.before + outage.outage, outage: true }];
  const outageMs = outage.before + outage.outage + outage.after;
  const spike = quick
    ? { before: 500, spike: 1_000, after: 1_000 }
    : { before: 2_000, spike: 5_000, after: 5_000 };
  const capacity = quick ? { before: 1_500, after: 3_500 } : { before: 5_000, after: 15_000 };
  return {
    errors: {
      label: '30 % transient errors',
      text: 'Every call to the downstream fails with a 503 (after its normal latency) with probability 0.3, independently.',
      durationMs: quick ? 3_000 : 15_000,
      // More calls than the other scenarios: the success share is compared to within a point.
      rateScale: 3,
      errorRate: 0.3,
      phases: [],
    },
    spike: {
      label: `latency spike: the downstream's latency × 20 (p99 ${P99_MS.toFixed(0)} → ${(P99_MS * 20).toFixed(0)} ms) for ${spike.spike / 1000} s`,
      text: `Normal for ${spike.before / 1000} s, every latency × 20 for ${spike.spike / 1000} s, normal for ${spike.after / 1000} s; no errors.`,
      durationMs: spike.before + spike.spike + spike.after,
      errorRate: 0,
      phases: [{ from: spike.before, to: spike.before + spike.spike, latencyScale: 20 }],
      // Hedging runs here too: it cannot help when every call is slow, and it spends the retry budget trying.
      configs: [...BASE_CONFIGS, 'keel-hedged'],
    },
    longtail: {
      label: `long tail: ${SLOW_SHARE * 100} % of calls 20 × slower, independently${quick ? ' (quick mode: 3 s; 15 s in a full run)' : ''}`,
      text: `Every call, with probability ${SLOW_SHARE} and independently of the others, takes 20 × its normal latency (≈ ${(20 * (BASE_MS + MEAN_MS)).toFixed(0)} ms on average); no errors. At 200 requests/s in either mode, so the p99 rests on enough slow calls. Hedging is meant for this; only the no-policy baseline, Keel's default and Keel with hedging run.`,
      durationMs: quick ? 3_000 : 15_000,
      rateScale: quick ? 2 : 1,
      errorRate: 0,
      slowShare: SLOW_SHARE,
      phases: [],
      configs: ['none', 'keel-default', 'keel-hedged'],
    },
    capacity: {
      label: `the downstream's capacity halves: ${CAPACITY.before} → ${CAPACITY.after} calls at once after ${capacity.before / 1000} s${quick ? ' (quick mode; 5 s then 15 s in a full run)' : ''}`,
      text:
        `The downstream serves at most ${CAPACITY.before} calls at once, each for ${SERVICE.base} ms + an exponential draw of mean ${SERVICE.mean} ms, and queues the rest (first come, first served; a queued call whose client has gone is dropped unserved); ` +
        `after ${capacity.before / 1000} s it serves only ${CAPACITY.after} at once, for ${capacity.after / 1000} s more. At ${CAPACITY_RATE} requests/s in either mode, about ${(CAPACITY_RATE * (SERVICE.base + SERVICE.mean)) / 1000} calls are in service on average: ` +
        `within the capacity before, ${((CAPACITY_RATE * (SERVICE.base + SERVICE.mean)) / 1000 / CAPACITY.after).toFixed(2)} × it after (it can serve ${(CAPACITY.after * 1000) / (SERVICE.base + SERVICE.mean)} requests/s), so a queue nothing limits grows by about ${CAPACITY_RATE - (CAPACITY.after * 1000) / (SERVICE.base + SERVICE.mean)} calls a second and its wait by about a third of a second a second: the longer the second part, the more of it is past a caller's patience${quick ? ' (the quick run is short for that)' : ''}. ` +
        `Goodput here counts only the requests answered successfully within ${SERVICE_TIMEOUT_MS / 1000} s of being due (what a caller waits); only Keel's default and Keel with adaptive concurrency run.`,
      durationMs: capacity.before + capacity.after,
      rateScale: CAPACITY_RATE / (quick ? 100 : 200),
      errorRate: 0,
      service: SERVICE,
      capacity: CAPACITY.before,
      halvedAt: capacity.before,
      phases: [{ from: capacity.before, to: 1e9, capacity: CAPACITY.after }],
      configs: ['keel-default', 'keel-adaptive'],
    },
    outage: {
      label: `full outage of ${outage.outage / 1000} s, then recovery${quick ? ' (quick mode; 10 s in a full run)' : ''}`,
      text: `Normal for ${outage.before / 1000} s, every call answered 503 at once for ${outage.outage / 1000} s, normal for ${outage.after / 1000} s.`,
      durationMs: outageMs,
      errorRate: 0,
      phases: outagePhases,
    },
    chain: {
      label: `three hops, every hop retrying: client → A → B → downstream, full outage of ${outage.outage / 1000} s${quick ? ' (quick mode)' : ''}`,
      text: `The outage scenario behind two middle hops (A and B, plain \`node:http\` servers in one process), each calling the next through the same configuration as the client and answering 503 when its call fails.`,
      durationMs: outageMs,
      errorRate: 0,
      phases: outagePhases,
      hops: true,
      // 50 requests/s in either mode: naive retries send 27 calls a request to the downstream through a hop
      // process that shares the two cores, which saturates it at the full run's 200 requests/s.
      rateScale: quick ? 0.5 : 0.25,
    },
  };
}

// ---------------------------------------------------------------- child processes

/** Counts calls per BIN_MS bin since the epoch. */
function binCounter() {
  const counts = [];
  let epoch = Number.POSITIVE_INFINITY;
  return {
    arm(at) {
      epoch = at;
      counts.length = 0;
    },
    hit() {
      const b = Math.floor((Date.now() - epoch) / BIN_MS);
      if (b >= 0) counts[b] = (counts[b] ?? 0) + 1;
    },
    counts: () => Array.from(counts, (x) => x ?? 0),
  };
}

/** A small deterministic generator (mulberry32), so every configuration meets the same fault sequence. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const listen = (server) =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

async function downstreamRole() {
  const counter = binCounter();
  let plan = { epoch: Number.POSITIVE_INFINITY, errorRate: 0, phases: [] };
  let rand = random(1);
  const phaseNow = () => {
    const t = Date.now() - plan.epoch;
    return plan.phases.find((p) => t >= p.from && t < p.to);
  };
  // With a capacity: at most that many calls in service at once, the rest queued in arrival order.
  const queue = [];
  let serving = 0;
  const pump = () => {
    const capacity = phaseNow()?.capacity ?? plan.capacity ?? Number.POSITIVE_INFINITY;
    while (queue.length > 0 && serving < capacity) {
      const job = queue.shift();
      if (job.gone()) continue;
      serving++;
      setTimeout(() => {
        serving--;
        job.answer();
        pump();
      }, job.latency);
    }
  };
  const server = createServer((req, res) => {
    counter.hit();
    req.resume();
    const phase = phaseNow();
    if (phase?.outage) {
      res.writeHead(503).end();
      return;
    }
    const { base, mean } = plan.service ?? { base: BASE_MS, mean: MEAN_MS };
    let latency = (base - mean * Math.log(1 - rand())) * (phase?.latencyScale ?? 1);
    const fail = rand() < plan.errorRate;
    if (plan.slowShare && rand() < plan.slowShare) latency *= 20;
    const answer = () => {
      if (fail) res.writeHead(503).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    };
    if (plan.capacity === undefined) {
      setTimeout(answer, latency);
      return;
    }
    let closed = false;
    res.once('close', () => {
      closed = true;
    });
    queue.push({ latency, answer, gone: () => closed });
    pump();
  });
  const port = await listen(server);
  process.on('message', (msg) => {
    if (msg.type === 'arm') {
      plan = msg;
      rand = random(msg.seed);
      counter.arm(msg.epoch);
      process.send({ type: 'done' });
    } else if (msg.type === 'counts') process.send({ type: 'done', counts: counter.counts() });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', port });
}

/** A middle hop: each request calls `next` through the configuration and answers 200 or 503. */
async function hop(name, config, next) {
  const { Agent } = await import('undici');
  const agent = new Agent({});
  const caller = await CONFIGS[config].build(httpAttempt(agent, next), name);
  const counter = binCounter();
  const server = createServer((req, res) => {
    counter.hit();
    req.resume();
    caller.call().then(
      () => res.writeHead(200).end('{"ok":true}'),
      () => res.writeHead(503).end(),
    );
  });
  return { port: await listen(server), counter };
}

async function hopsRole({ config, next }) {
  const b = await hop('hop-b', config, next);
  const a = await hop('hop-a', config, `http://127.0.0.1:${b.port}`);
  process.on('message', (msg) => {
    if (msg.type === 'arm') {
      a.counter.arm(msg.epoch);
      b.counter.arm(msg.epoch);
      process.send({ type: 'done' });
    } else if (msg.type === 'counts')
      process.send({ type: 'done', a: a.counter.counts(), b: b.counter.counts() });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', port: a.port });
}

async function clientRole({ config, target }) {
  const { Agent } = await import('undici');
  const agent = new Agent({});
  const caller = await CONFIGS[config].build(httpAttempt(agent, target), 'client');
  process.on('message', async (msg) => {
    if (msg.type === 'warm-up') {
      // Before the downstream is armed (it counts nothing yet): connections open, code compiled, the
      // policies in their steady state.
      for (let i = 0; i < WARMUP_CALLS; i += 5) {
        await Promise.allSettled(Array.from({ length: 5 }, () => caller.call()));
      }
      process.send({ type: 'done' });
      return;
    }
    if (msg.type !== 'run') return;
    globalThis.gc?.();
    // A stall of the client's own event loop (the machine, a GC) fails every attempt whose timeout fires
    // in it: reported so such a row is not read as the policy's doing.
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const rss0 = process.memoryUsage().rss;
    const heap0 = process.memoryUsage().heapUsed;
    // maxRSS is the process's lifetime peak, start-up included: sample the run's own instead.
    let peakRss = rss0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    }, 50);
    const { due, latency, ok } = await openLoop({ ...msg, send: caller.call });
    clearInterval(sampler);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    loopDelay.disable();
    globalThis.gc?.();
    process.send({
      type: 'done',
      due: Array.from(due),
      latency: Array.from(latency, (x) => (Number.isNaN(x) ? null : x)),
      ok: Array.from(ok),
      rssGrowth: peakRss - rss0,
      heapGrowth: process.memoryUsage().heapUsed - heap0,
      loopDelayMaxMs: loopDelay.max / 1e6,
    });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready' });
}

/** Forks `this script --role role args` and returns `{ ready, request(msg), stop() }`. */
function child(role, args = {}) {
  const proc = fork(script, ['--role', role, JSON.stringify(args)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let pending;
  const settle = (fn, value) => {
    const p = pending;
    pending = undefined;
    p?.[fn](value);
  };
  proc.on('message', (msg) => settle('resolve', msg));
  proc.once('exit', (code, signal) => settle('reject', new Error(`${role} exited (${signal ?? code})`)));
  const request = (msg) =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      if (msg) proc.send(msg);
    });
  return {
    ready: request(),
    request,
    stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGKILL');
      return exited;
    },
  };
}

// ---------------------------------------------------------------- one run (parent side)

async function runOne(scenario, config, rate, seed) {
  const procs = [];
  try {
    const down = child('downstream');
    procs.push(down);
    let target = `http://127.0.0.1:${(await down.ready).port}`;
    let hops;
    if (scenario.hops) {
      hops = child('hops', { config, next: target });
      procs.push(hops);
      target = `http://127.0.0.1:${(await hops.ready).port}`;
    }
    const client = child('client', { config, target });
    procs.push(client);
    await client.ready;
    await client.request({ type: 'warm-up' });
    const epoch = Date.now() + 300;
    await down.request({
      type: 'arm',
      epoch,
      errorRate: scenario.errorRate,
      phases: scenario.phases,
      slowShare: scenario.slowShare,
      service: scenario.service,
      capacity: scenario.capacity,
      seed,
    });
    if (hops) await hops.request({ type: 'arm', epoch });
    const r = await client.request({
      type: 'run',
      epoch,
      rate,
      durationMs: scenario.durationMs,
      drainMs: 3_000,
    });
    const records = {
      due: r.due,
      latency: r.latency.map((x) => (x === null ? Number.NaN : x)),
      ok: r.ok,
    };
    const received = await down.request({ type: 'counts' });
    const hopCounts = hops ? await hops.request({ type: 'counts' }) : undefined;
    return {
      records,
      downstream: received.counts,
      hops: hopCounts,
      rssGrowth: r.rssGrowth,
      heapGrowth: r.heapGrowth,
      loopDelayMaxMs: r.loopDelayMaxMs,
    };
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
  }
}

/** Requests due in [fromMs, toMs) answered successfully within `sloMs`, per second; and their p99 latency. */
function withinSlo({ due, latency, ok }, fromMs, toMs, sloMs) {
  const s = summarise({ due, latency, ok }, fromMs, toMs);
  let good = 0;
  for (let i = 0; i < due.length; i++) {
    if (due[i] >= fromMs && due[i] < toMs && ok[i] && latency[i] <= sloMs) good++;
  }
  return { goodput: good / ((toMs - fromMs) / 1000), success: s.success, p99: s.p99 };
}

/** The figures of one run. */
function figures(scenario, run, rate) {
  const all = summarise(run.records, 0, scenario.durationMs);
  const outage = scenario.phases.find((p) => p.outage);
  // The window over which load is compared: the outage when there is one, else the whole run.
  const [from, to] = outage ? [outage.from, outage.to] : [0, scenario.durationMs];
  const requests = callsDue(rate, to) - callsDue(rate, from);
  const amp = (counts) => (counts ? receivedIn(counts, BIN_MS, from, to) / requests : null);
  return {
    ...all,
    amplification: amp(run.downstream),
    amplificationA: amp(run.hops?.a),
    amplificationB: amp(run.hops?.b),
    recoveryMs: outage
      ? recoveryMs(run.records, outage.to, scenario.durationMs, RECOVERY_BIN_MS, RECOVERED)
      : null,
    afterHealMs: outage ? scenario.durationMs - outage.to : null,
    ...(scenario.halvedAt === undefined
      ? {}
      : {
          before: withinSlo(run.records, 0, scenario.halvedAt, SERVICE_TIMEOUT_MS),
          after: withinSlo(run.records, scenario.halvedAt, scenario.durationMs, SERVICE_TIMEOUT_MS),
        }),
    rssGrowthMiB: run.rssGrowth / 2 ** 20,
    heapGrowthMiB: run.heapGrowth / 2 ** 20,
    loopDelayMaxMs: run.loopDelayMaxMs,
  };
}

// ---------------------------------------------------------------- report

const ms = (x) => (Number.isNaN(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

function capacitySection(id, scenario, rows) {
  const head = [
    'configuration',
    `goodput before (req/s answered ≤ ${SERVICE_TIMEOUT_MS / 1000} s)`,
    'goodput after',
    'success before, after',
    'p99 ms before, after',
    'load amplification',
    'client memory: peak RSS growth, heap retained',
  ];
  return {
    heading: `${id}: ${scenario.label}`,
    text: scenario.text,
    table: {
      head,
      align: `l${'r'.repeat(head.length - 1)}`,
      rows: rows.map(({ config, f }) => [
        CONFIGS[config].label,
        f.before.goodput.toFixed(1),
        f.after.goodput.toFixed(1),
        `${fmt.pct(f.before.success)}, ${fmt.pct(f.after.success)}`,
        `${ms(f.before.p99)}, ${ms(f.after.p99)}`,
        fmt.ratio(f.amplification),
        `${f.rssGrowthMiB.toFixed(1)} MiB, ${f.heapGrowthMiB.toFixed(2)} MiB`,
      ]),
    },
    notes: [
      `Before: the first ${scenario.halvedAt / 1000} s; after: the rest. The halved downstream can serve ${(CAPACITY.after * 1000) / (SERVICE.base + SERVICE.mean)} requests/s of the ${CAPACITY_RATE} offered. ` +
        `Longest stall of the client's event loop during the run: ${rows.map(({ config, f }) => `${config} ${f.loopDelayMaxMs.toFixed(0)} ms`).join(' · ')}.`,
    ],
  };
}

function scenarioSection(id, scenario, rows) {
  if (scenario.halvedAt !== undefined) return capacitySection(id, scenario, rows);
  const outage = scenario.phases.some((p) => p.outage);
  const head = [
    'configuration',
    'goodput (req/s)',
    'success',
    'p50 ms',
    'p99 ms',
    'p99.9 ms',
    outage ? 'load amplification in the outage' : 'load amplification',
  ];
  if (scenario.hops) head.push('at A, at B');
  if (outage) head.push('recovery after the heal');
  head.push('client memory: peak RSS growth, heap retained');
  return {
    heading: `${id}: ${scenario.label}`,
    text: scenario.text,
    table: {
      head,
      align: `l${'r'.repeat(head.length - 1)}`,
      rows: rows.map(({ config, f }) => {
        const row = [
          CONFIGS[config].label,
          f.goodput.toFixed(1),
          fmt.pct(f.success),
          ms(f.p50),
          ms(f.p99),
          ms(f.p999),
          fmt.ratio(f.amplification),
        ];
        if (scenario.hops) row.push(`${fmt.ratio(f.amplificationA)}, ${fmt.ratio(f.amplificationB)}`);
        if (outage) {
          row.push(
            f.recoveryMs === undefined
              ? `> ${(f.afterHealMs / 1000).toFixed(1)} s (not within the run)`
              : `${(f.recoveryMs / 1000).toFixed(2)} s`,
          );
        }
        row.push(`${f.rssGrowthMiB.toFixed(1)} MiB, ${f.heapGrowthMiB.toFixed(2)} MiB`);
        return row;
      }),
    },
    notes: [
      `Longest stall of the client's event loop during the run: ${rows.map(({ config, f }) => `${config} ${f.loopDelayMaxMs.toFixed(0)} ms`).join(' · ')}. ` +
        `A stall longer than a configuration's attempt timeout (${TUNED_TIMEOUT_MS} ms for Keel tuned) fails the attempts in flight through no fault of the downstream: the machine, not the policy.`,
      ...(rows.some(({ f }) => f.unsettled > 0)
        ? [
            `Calls still unsettled 3 s after the last was sent (counted as failed): ${rows.map(({ config, f }) => `${config} ${f.unsettled}`).join(' · ')}.`,
          ]
        : []),
    ],
  };
}

function targets(results) {
  const get = (scenario, config) => results[scenario]?.find((r) => r.config === config)?.f;
  const list = [];
  const chain = get('chain', 'keel-default');
  if (chain) {
    const tuned = get('chain', 'keel-tuned');
    const naive = get('chain', 'naive');
    list.push({
      target: "full outage, three hops: Keel's load amplification ≤ 1.2×",
      measured: `default ${fmt.ratio(chain.amplification)}${tuned ? `, tuned ${fmt.ratio(tuned.amplification)}` : ''}${naive ? ` (naive retries ${fmt.ratio(naive.amplification, 1)})` : ''}`,
      met: chain.amplification <= 1.2 && (tuned === undefined || tuned.amplification <= 1.2),
    });
  }
  const def = get('errors', 'keel-default');
  const tuned = get('errors', 'keel-tuned');
  const naive = get('errors', 'naive');
  if (def) {
    list.push({
      target: "30 % errors: Keel's default success within one point of 1 − 0.3³ = 97.3 %",
      measured: fmt.pct(def.success),
      met: def.success >= 0.963,
    });
  }
  if (tuned) {
    list.push({
      target: '30 % errors: Keel tuned as its README recommends ≥ 99 % of offered load',
      measured: fmt.pct(tuned.success),
      met: tuned.success >= 0.99,
    });
  }
  if (naive && (def || tuned)) {
    list.push({
      target: "30 % errors: Keel's p99 below the naive configuration's",
      measured: `naive ${ms(naive.p99)} ms; default ${def ? ms(def.p99) : '—'} ms, tuned ${tuned ? ms(tuned.p99) : '—'} ms`,
      met: [def, tuned].every((f) => f === undefined || f.p99 < naive.p99),
    });
  }
  const tailDefault = get('longtail', 'keel-default');
  const tailHedged = get('longtail', 'keel-hedged');
  if (tailDefault && tailHedged) {
    list.push({
      target: "long tail: Keel with hedging cuts the client p99 by ≥ 5× against Keel's default pipeline",
      measured: `default ${ms(tailDefault.p99)} ms, hedged ${ms(tailHedged.p99)} ms (${(tailDefault.p99 / tailHedged.p99).toFixed(1)}×)`,
      met: tailDefault.p99 >= 5 * tailHedged.p99,
    });
  }
  if (tailHedged) {
    list.push({
      target: 'long tail: hedging adds ≤ 10 % downstream load (calls received ÷ requests ≤ 1.10×)',
      measured: `hedged ${fmt.ratio(tailHedged.amplification)}${tailDefault ? `, default ${fmt.ratio(tailDefault.amplification)}` : ''}`,
      met: tailHedged.amplification <= 1.1,
    });
  }
  const spikeDefault = get('spike', 'keel-default');
  const spikeHedged = get('spike', 'keel-hedged');
  if (spikeDefault && spikeHedged) {
    list.push({
      target:
        "latency spike (every call slow, as the issue words the scenario): Keel with hedging cuts the client p99 by ≥ 5× against Keel's default pipeline at ≤ 1.10× the downstream load",
      measured: `default ${ms(spikeDefault.p99)} ms, hedged ${ms(spikeHedged.p99)} ms (${(spikeDefault.p99 / spikeHedged.p99).toFixed(1)}×); load ${fmt.ratio(spikeHedged.amplification)}`,
      met: spikeDefault.p99 >= 5 * spikeHedged.p99 && spikeHedged.amplification <= 1.1,
    });
  }
  const capDefault = get('capacity', 'keel-default');
  const capAdaptive = get('capacity', 'keel-adaptive');
  if (capAdaptive) {
    const served = Math.min(CAPACITY_RATE, (CAPACITY.after * 1000) / (SERVICE.base + SERVICE.mean));
    list.push({
      target: `capacity halves: adaptive concurrency holds goodput (answered ≤ ${SERVICE_TIMEOUT_MS / 1000} s) after the halving at ≥ 90 % of what the halved downstream can serve (${served} req/s)${capDefault ? ", and above Keel's default" : ''}`,
      measured: `adaptive ${capAdaptive.before.goodput.toFixed(1)} → ${capAdaptive.after.goodput.toFixed(1)} req/s${capDefault ? `; default ${capDefault.before.goodput.toFixed(1)} → ${capDefault.after.goodput.toFixed(1)} req/s` : ''}`,
      met:
        capAdaptive.after.goodput >= 0.9 * served &&
        (capDefault === undefined || capAdaptive.after.goodput > capDefault.after.goodput),
    });
  }
  for (const scenario of ['outage', 'chain']) {
    const f = get(scenario, 'keel-default');
    const g = get(scenario, 'keel-tuned');
    if (!f) continue;
    const limit = KEEL_BREAK_MS + RECOVERY_BIN_MS;
    const show = (x) =>
      x.recoveryMs === undefined
        ? `> ${(x.afterHealMs / 1000).toFixed(1)} s`
        : `${(x.recoveryMs / 1000).toFixed(2)} s`;
    list.push({
      target: `${scenario}: Keel serves normally again within one break duration (5 s) plus one probe after the heal`,
      measured: `default ${show(f)}${g ? `, tuned ${show(g)}` : ''} (normal: ≥ ${RECOVERED * 100} % success in every ${RECOVERY_BIN_MS} ms bin from then on)`,
      met: [f, g].every((x) => x === undefined || (x.recoveryMs !== undefined && x.recoveryMs <= limit)),
    });
  }
  return list;
}

async function main() {
  const quick = flag('quick');
  const rate = Number(option('rate', quick ? 100 : 200));
  const all = scenarios(quick);
  const only = option('only', undefined)?.split(',') ?? Object.keys(all);
  const picked = option('configs', undefined)?.split(',');
  for (const c of picked ?? []) if (!CONFIGS[c]) throw new Error(`--configs: no configuration ${c}`);
  const configsOf = (scenario) =>
    (scenario.configs ?? BASE_CONFIGS).filter((c) => picked === undefined || picked.includes(c));
  const out = option('out', join(here, 'results', 'effectiveness.json'));
  const log = (line) => process.stderr.write(`${line}\n`);
  const run = startRun();
  const results = {};
  const raw = {};
  for (const id of only) {
    const scenario = all[id];
    if (!scenario) throw new Error(`--only: no scenario ${id} (${Object.keys(all).join(', ')})`);
    results[id] = [];
    raw[id] = {};
    for (const config of configsOf(scenario)) {
      const scenarioRate = rate * (scenario.rateScale ?? 1);
      const r = await runOne(scenario, config, scenarioRate, 42);
      const f = figures(scenario, r, scenarioRate);
      results[id].push({ config, f });
      raw[id][config] = { f, downstream: r.downstream, hops: r.hops };
      log(
        `${id} ${config}: goodput ${f.goodput.toFixed(1)}/s, success ${fmt.pct(f.success)}, p99 ${ms(f.p99)} ms, amplification ${fmt.ratio(f.amplification)}` +
          (f.recoveryMs === null
            ? ''
            : `, recovery ${f.recoveryMs === undefined ? 'none' : `${f.recoveryMs} ms`}`),
      );
    }
  }
  const meta = finishMeta(
    import.meta.url,
    ['packages/resilience/src'],
    run,
    ['cockatiel', 'opossum', 'undici'],
    {
      rate,
      scenarios: Object.fromEntries(
        only.map((id) => [id, { durationMs: all[id].durationMs, phases: all[id].phases }]),
      ),
    },
  );
  const report = {
    id: 'effectiveness',
    title: 'Effectiveness under faults',
    measures:
      'A simulated downstream on loopback (its own process) whose behaviour follows a schedule, called by a client under open-loop load, for six client configurations (and Keel with hedging or with adaptive concurrency where those are meant to help); each configuration runs alone with fresh processes and meets the same seeded fault sequence.',
    meta,
    sections: [
      {
        text:
          `Open-loop load: ${rate} requests/s (unless said otherwise) sent on schedule whatever is in flight; latency runs from the instant a request was due, for every request (failed ones too). ` +
          `The downstream answers after ${BASE_MS} ms + an exponential draw of mean ${MEAN_MS} ms (p99 ≈ ${P99_MS.toFixed(0)} ms). ` +
          'Load amplification: calls the downstream received ÷ requests the client made (over the outage when there is one, else the whole run). ' +
          `Recovery: from the heal to the start of the first ${RECOVERY_BIN_MS} ms bin from which every bin has ≥ ${RECOVERED * 100} % of its requests succeed. ` +
          "Client memory: peak RSS during the run (sampled every 50 ms) − RSS at its start (after a GC; the no-policy row is the floor of sockets and bookkeeping), and heap used after a GC at the end − at the start. RSS moves by several MiB with the collector's heap sizing; the heap retained is the steadier figure. " +
          `The 30 % errors scenario runs at ${3 * rate} requests/s, for enough calls to read the success share to within a point; the three-hop chain at ${rate * all.chain.rateScale} requests/s. ` +
          `Each client sends ${WARMUP_CALLS} calls (5 at a time) before the clock starts, which the downstream does not count.`,
        table: {
          head: ['configuration', 'what'],
          align: 'll',
          rows: Object.keys(CONFIGS)
            .filter((c) => only.some((id) => configsOf(all[id]).includes(c)))
            .map((c) => [CONFIGS[c].label, CONFIGS[c].detail]),
        },
        notes: [
          `The configurations without a timeout of their own use ${SERVICE_TIMEOUT_MS} ms per attempt; Keel tuned uses ${TUNED_TIMEOUT_MS} ms, about 9 × the downstream's normal p99.`,
        ],
      },
      ...only.map((id) => scenarioSection(id, all[id], results[id])),
    ],
    targets: targets(results),
  };
  emit(report, raw, out, log);
}

const role = process.argv.indexOf('--role');
if (role >= 0) {
  const args = JSON.parse(process.argv[role + 2]);
  const roles = { downstream: downstreamRole, hops: hopsRole, client: clientRole };
  await roles[process.argv[role + 1]](args);
} else {
  await main();
}
