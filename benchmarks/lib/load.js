// Load from this process against servers in child processes (lib/server-child.js): autocannon, one
// server at a time, in an order that rotates each round, with each server's own CPU time per request.

import { median, pairedMedian } from './harness.js';
import { fmt } from './report.js';
import { killChildren, startServerChild } from './server-child.js';

async function hit(autocannon, port, { path, seconds, connections, pipelining }) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    connections,
    pipelining,
    duration: seconds,
  });
  const failed = result.errors + result.timeouts + result.non2xx + result.mismatches;
  if (failed > 0)
    throw new Error(`port ${port}: ${failed} failed requests (${JSON.stringify(result.statusCodeStats)})`);
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
  };
}

const cpuMicros = (u) => u.cpu.user + u.cpu.system;

/**
 * Starts one child per id (`node script --serve id`), warms each up, then runs `rounds` rounds of
 * `seconds` per server. Returns `{ id, samples, final }` per server; `final` is its last usage report.
 */
export async function runLoad({ script, ids, path, rounds, seconds, warmup, connections, pipelining, log }) {
  const { default: autocannon } = await import('autocannon');
  const load = { path, connections, pipelining };
  const servers = [];
  try {
    for (const id of ids) {
      servers.push({ ...(await startServerChild(script, id, { execArgv: process.execArgv })), samples: [] });
    }
    for (const s of servers) {
      const w = await hit(autocannon, s.port, { ...load, seconds: warmup });
      log(`warm-up ${s.id}: ${w.total} requests, ${w.rps.toFixed(0)} req/s`);
    }
    for (let round = 0; round < rounds; round++) {
      const started = Date.now();
      for (let i = 0; i < servers.length; i++) {
        const s = servers[(i + round) % servers.length];
        const before = await s.usage();
        const t0 = process.hrtime.bigint();
        const r = await hit(autocannon, s.port, { ...load, seconds });
        const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
        const after = await s.usage();
        const cpu = cpuMicros(after) - cpuMicros(before);
        s.samples.push({ ...r, cpuUsPerRequest: cpu / (after.served - before.served), busy: cpu / wallUs });
      }
      log(`round ${round + 1}/${rounds}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
    for (const s of servers) s.final = await s.usage();
  } finally {
    await Promise.allSettled(servers.map((s) => s.stop()));
    killChildren();
  }
  return servers.map(({ id, samples, final }) => ({ id, samples, final }));
}

/** Medians over rounds, and ratios to the `bare` server paired round by round. */
export function summariseLoad(servers, contenders) {
  const bare = servers.find((s) => s.id === 'bare');
  const col = (s, key) => s.samples.map((x) => x[key]);
  return servers.map((s) => {
    const rps = col(s, 'rps');
    const cpu = col(s, 'cpuUsPerRequest');
    return {
      id: s.id,
      label: contenders[s.id].label,
      perRequest: contenders[s.id].perRequest,
      rps: median(rps),
      // Median of per-round ratios: each pair ran in the same round, close in time.
      rpsVsBare: bare ? median(rps.map((x, i) => x / bare.samples[i].rps)) : null,
      p50Ms: median(col(s, 'p50')),
      p99Ms: median(col(s, 'p99')),
      cpuUsPerRequest: median(cpu),
      cpuOverheadUs: bare && s !== bare ? pairedMedian(cpu, col(bare, 'cpuUsPerRequest')) : 0,
      // Requests one saturated core could serve, relative to bare: what the ratio would be if the server,
      // not the load generator, were the bottleneck.
      cpuCapacityVsBare: bare ? median(cpu.map((x, i) => bare.samples[i].cpuUsPerRequest / x)) : null,
      serverBusy: median(col(s, 'busy')),
      spansPerRequest: s.final.spans === undefined ? null : s.final.spans / s.final.served,
      observationsPerRequest:
        s.final.observations === undefined ? null : s.final.observations / s.final.served,
      rssMB: s.final.rss / 2 ** 20,
      samples: s.samples,
    };
  });
}

const ms = (x) => (x < 1 ? '< 1' : x.toFixed(0));

/** The report section of a load run (lib/report.js), with the paragraph that says how to read it. */
export function loadSection(o, rows) {
  const checks = rows
    .filter((r) => r.spansPerRequest !== null)
    .map((r) => `${r.id} ${fmt.fixed(r.spansPerRequest, 3)} / ${fmt.fixed(r.observationsPerRequest, 3)}`);
  return {
    heading: 'Over HTTP',
    text:
      `autocannon, ${o.connections} connections, pipelining ${o.pipelining}, \`GET ${o.path}\` on 127.0.0.1; ` +
      `${o.warmup} s warm-up, then ${o.rounds} rounds × ${o.seconds} s per contender, order rotating each round; medians over rounds. ` +
      'Server CPU is user + system time of the server process per request served.',
    table: {
      head: [
        'contender',
        'per request',
        'req/s',
        '÷ bare',
        'p50 ms',
        'p99 ms',
        'server CPU µs/req',
        'over bare',
        'capacity ÷ bare (CPU)',
        'server busy',
      ],
      align: 'llrrrrrrrr',
      rows: rows.map((r) => {
        const isBare = r.id === 'bare';
        return [
          r.label,
          r.perRequest,
          r.rps.toFixed(0),
          isBare ? '1×' : fmt.ratio(r.rpsVsBare),
          ms(r.p50Ms),
          ms(r.p99Ms),
          r.cpuUsPerRequest.toFixed(1),
          isBare ? '—' : fmt.signed(r.cpuOverheadUs),
          isBare ? '1×' : fmt.ratio(r.cpuCapacityVsBare),
          `${(r.serverBusy * 100).toFixed(0)} %`,
        ];
      }),
    },
    notes: [
      'Latency has autocannon’s 1 ms resolution. "Server busy" is server CPU time ÷ wall time (100 % = one core); below 100 % the ' +
        'load generator, sharing the machine, limits throughput, so "capacity ÷ bare (CPU)" (bare’s CPU per request ÷ the ' +
        `contender’s) is the ratio a server-bound run would show.` +
        (checks.length === 0
          ? ''
          : ` Spans exported / histogram observations per request served: ${checks.join(' · ')}.`),
    ],
  };
}
