// Outbound calls: Keel's `httpClient` (pipeline + client span per attempt) against bare undici, each client
// in a child process of its own, against one plain node:http server in another child. One client runs at a
// time, with a fixed number of calls in flight for a fixed time, in an order that rotates each round.

import { AsyncLocalStorage } from 'node:async_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finishMeta, loadRounds, option, selectedIds, startRun } from './lib/cli.js';
import { clientChild, startClient } from './lib/client-child.js';
import { cockatielKeelDefaults } from './lib/cockatiel-defaults.js';
import { median, pairedMedian } from './lib/harness.js';
import { emit, fmt } from './lib/report.js';
import { killChildren, serveChild, startServerChild } from './lib/server-child.js';
import { countingBatch, histogramCount, keelTelemetry } from './lib/telemetry-setup.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = fileURLToPath(import.meta.url);
const PATH = '/orders/42';
const BODY = JSON.stringify({ id: '42', status: 'shipped', items: 3, total: 42.5 });

// ---------------------------------------------------------------- the server (child side)

async function target(counter) {
  const http = await import('node:http');
  const server = http.createServer(function order(req, res) {
    counter.served++;
    // Read (and ignore) the request, as a real service does before answering.
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) });
    res.end(BODY);
  });
  return { server };
}

// ---------------------------------------------------------------- the clients (child side)

function expectOk(status) {
  if (status !== 200) throw new Error(`unexpected status ${status}`);
}

async function bareClient(origin) {
  const { Agent } = await import('undici');
  // What httpClient builds when `connections` is not set: undici's defaults.
  const agent = new Agent({});
  return {
    async call() {
      const { statusCode, body } = await agent.request({ origin, path: PATH, method: 'GET' });
      await body.json();
      expectOk(statusCode);
    },
    close: () => agent.close(),
  };
}

async function keelClient(origin, usage) {
  const { httpClient } = await import('@keel/http');
  const client = httpClient({ name: 'orders', baseUrl: origin });
  return {
    async call() {
      const res = await client.get(PATH);
      await res.json();
      expectOk(res.status);
    },
    usage,
    close: () => client.close(),
  };
}

/** OpenTelemetry's NodeSDK with the undici instrumentation (diagnostics_channel: no require hook needed). */
async function startOtelUndici() {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { UndiciInstrumentation } = await import('@opentelemetry/instrumentation-undici');
  const batch = await countingBatch();
  const sdk = new NodeSDK({
    serviceName: 'bench',
    instrumentations: [new UndiciInstrumentation()],
    spanProcessors: [batch.processor],
    // As in Keel: empty lists, or NodeSDK would start OTLP metric and log exporters.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return batch;
}

/**
 * The stack a user assembles for what `httpClient` does: the undici instrumentation's span and
 * propagation, cockatiel's `wrap(timeout, retry, breaker)` with Keel's default settings (total timeout
 * 30 s, 3 attempts with exponential backoff, a breaker opening above 50 % failures over 30 s) and a
 * prom-client histogram of call durations.
 */
async function peerStackClient(origin, usage) {
  const { Agent } = await import('undici');
  const { Histogram, Registry } = await import('prom-client');
  const agent = new Agent({});
  const policy = await cockatielKeelDefaults();
  const registry = new Registry();
  const histogram = new Histogram({
    name: 'http_client_request_duration_seconds',
    help: 'Duration of HTTP client requests.',
    labelNames: ['http_request_method', 'server_address', 'http_response_status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
    registers: [registry],
  });
  const host = new URL(origin).host;
  return {
    async call() {
      const stop = histogram.startTimer({ http_request_method: 'GET', server_address: host });
      const status = await policy.execute(async ({ signal }) => {
        const { statusCode, body } = await agent.request({ origin, path: PATH, method: 'GET', signal });
        await body.json();
        expectOk(statusCode);
        return statusCode;
      });
      stop({ http_response_status_code: status });
    },
    async usage() {
      return { ...(await usage()), observations: await histogramCount(registry, histogram.name) };
    },
    close: () => agent.close(),
  };
}

const CLIENTS = {
  bare: {
    label: 'bare undici',
    perCall: '`agent.request()` on an `Agent` with default settings, body read as JSON',
    build: bareClient,
  },
  'bare-als': {
    label: 'bare undici, an AsyncLocalStorage entered once (the floor)',
    perCall: 'the same; async_hooks on for every promise and resource (Node 22)',
    build(origin) {
      new AsyncLocalStorage().enterWith({ floor: true });
      return bareClient(origin);
    },
  },
  keel: {
    label: 'Keel `httpClient`, telemetry started',
    perCall:
      'default pipeline (total timeout 30 s, retry 3 attempts, ratio breaker, attempt timeout 10 s) + client span + histogram + injected headers',
    async build(origin) {
      const batch = await countingBatch();
      await keelTelemetry(batch.processor);
      return keelClient(origin, batch.usage);
    },
  },
  'otel-undici': {
    label: "OpenTelemetry's undici instrumentation alone",
    perCall:
      'bare undici under NodeSDK + `@opentelemetry/instrumentation-undici`: a client span + injected `traceparent`',
    async build(origin) {
      const batch = await startOtelUndici();
      const client = await bareClient(origin);
      return { ...client, usage: batch.usage };
    },
  },
  'otel-stack': {
    label: 'the peer stack: undici instrumentation + cockatiel + prom-client',
    perCall:
      "the instrumentation's span + cockatiel `wrap(timeout(30 s), retry(3 attempts, exponential backoff), breaker(50 % over 30 s))` + a prom-client histogram",
    async build(origin) {
      const batch = await startOtelUndici();
      return peerStackClient(origin, batch.usage);
    },
  },
  'keel-detached': {
    label: 'Keel `httpClient`, no `startTelemetry()`',
    perCall: 'the same pipeline; detached telemetry (no-op spans, context still propagated)',
    build: (origin) => keelClient(origin),
  },
};

// ---------------------------------------------------------------- orchestration (parent side)

const serverCpu = (u) => u.cpu.user + u.cpu.system;

async function runClients({ ids, rounds, seconds, warmup, concurrency, log }) {
  const server = await startServerChild(script, 'target', { execArgv: process.execArgv });
  const origin = `http://127.0.0.1:${server.port}`;
  const clients = [];
  try {
    // One at a time, so no client starts (imports, JIT) while another is measured.
    for (const id of ids) {
      const c = startClient(script, id, origin);
      clients.push(c);
      await c.ready;
    }
    for (const c of clients) {
      const w = await c.run(warmup, concurrency);
      log(`warm-up ${c.id}: ${w.calls} calls, ${w.rps.toFixed(0)} req/s`);
    }
    for (let round = 0; round < rounds; round++) {
      const started = Date.now();
      for (let i = 0; i < clients.length; i++) {
        const c = clients[(i + round) % clients.length];
        const before = await server.usage();
        const r = await c.run(seconds, concurrency);
        const after = await server.usage();
        c.samples.push({ ...r, serverCpuUsPerCall: (serverCpu(after) - serverCpu(before)) / r.calls });
        c.final = r;
      }
      log(`round ${round + 1}/${rounds}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await Promise.allSettled(clients.map((c) => c.stop()));
    await server.stop();
    killChildren();
  }
  return clients.map(({ id, samples, final }) => ({ id, samples, final }));
}

function summarise(clients) {
  const bare = clients.find((c) => c.id === 'bare');
  const col = (c, key) => c.samples.map((x) => x[key]);
  const perRound = (c, key, f) => c.samples.map((x, i) => f(x[key], bare.samples[i][key]));
  return clients.map((c) => ({
    id: c.id,
    label: CLIENTS[c.id].label,
    perCall: CLIENTS[c.id].perCall,
    rps: median(col(c, 'rps')),
    rpsVsBare: median(perRound(c, 'rps', (x, b) => x / b)),
    rpsVsBareRange: [
      Math.min(...perRound(c, 'rps', (x, b) => x / b)),
      Math.max(...perRound(c, 'rps', (x, b) => x / b)),
    ],
    p50Ms: median(col(c, 'p50')),
    p99Ms: median(col(c, 'p99')),
    cpuUsPerCall: median(col(c, 'cpuUsPerCall')),
    cpuOverheadUs: c === bare ? 0 : pairedMedian(col(c, 'cpuUsPerCall'), col(bare, 'cpuUsPerCall')),
    cpuVsBare: median(perRound(c, 'cpuUsPerCall', (x, b) => x / b)),
    clientBusy: median(col(c, 'busy')),
    serverCpuUsPerCall: median(col(c, 'serverCpuUsPerCall')),
    hooks: c.final.hooks,
    spansPerCall: c.final.spans === undefined ? null : c.final.spans / c.final.total,
    observationsPerCall: c.final.observations === undefined ? null : c.final.observations / c.final.total,
    samples: c.samples,
  }));
}

function report(meta, rows) {
  const o = meta.load;
  const find = (id) => rows.find((r) => r.id === id);
  const table = {
    head: [
      'contender',
      'per call',
      'req/s',
      '÷ bare (min–max)',
      'p50 ms',
      'p99 ms',
      'client CPU µs/call',
      'over bare',
      'CPU ÷ bare',
      'client busy',
      'server CPU µs/call',
      'hooks',
    ],
    align: 'llrrrrrrrrrl',
    rows: rows.map((r) => {
      const isBare = r.id === 'bare';
      const [lo, hi] = r.rpsVsBareRange;
      return [
        r.label,
        r.perCall,
        r.rps.toFixed(0),
        isBare ? '1×' : `${r.rpsVsBare.toFixed(2)}× (${lo.toFixed(2)}–${hi.toFixed(2)})`,
        r.p50Ms.toFixed(2),
        r.p99Ms.toFixed(2),
        r.cpuUsPerCall.toFixed(1),
        isBare ? '—' : fmt.signed(r.cpuOverheadUs),
        isBare ? '1×' : fmt.ratio(r.cpuVsBare),
        `${(r.clientBusy * 100).toFixed(0)} %`,
        r.serverCpuUsPerCall.toFixed(1),
        r.hooks ? 'on' : 'off',
      ];
    }),
  };
  const spans = rows
    .filter((r) => r.spansPerCall !== null)
    .map((r) => `${r.id} ${r.spansPerCall.toFixed(3)}`);
  const targets = [];
  const keel = find('keel');
  const otelSpan = find('otel-undici');
  const peer = find('otel-stack');
  if (keel && otelSpan) {
    targets.push({
      target: "client CPU added per call ≤ OpenTelemetry's undici instrumentation alone (a span only)",
      measured: `Keel ${fmt.signed(keel.cpuOverheadUs)} µs, instrumentation ${fmt.signed(otelSpan.cpuOverheadUs)} µs`,
      met: keel.cpuOverheadUs <= otelSpan.cpuOverheadUs,
    });
  }
  if (keel && peer) {
    const ratio = keel.rps / peer.rps;
    targets.push({
      target: '≥ 1.3× the throughput of the equivalent peer stack',
      measured: `${fmt.ratio(ratio)} (${keel.rps.toFixed(0)} ÷ ${peer.rps.toFixed(0)} req/s); the stack's client CPU per call ÷ Keel's: ${fmt.ratio(peer.cpuUsPerCall / keel.cpuUsPerCall)}`,
      met: ratio >= 1.3,
    });
  }
  return {
    id: 'http-client',
    title: 'HTTP client: `@keel/http` against bare undici and the OpenTelemetry stack',
    measures:
      '`GET /orders/42` (a 60-byte JSON body from a plain `node:http` server), 10 calls in flight, each client in a process of its own, one at a time.',
    meta,
    sections: [
      {
        text:
          `${o.concurrency} calls in flight; ${o.warmup} s warm-up, then ${o.rounds} rounds × ${o.seconds} s per client, one client at a time, order rotating each round; ` +
          'medians over rounds, ratios paired round by round. Client CPU is user + system time of the client process per call.',
        table,
        notes: [
          '"Client busy" is client CPU time ÷ wall time (100 % = one core): near 100 % the client is the bottleneck and req/s ' +
            'measures it; well below, the server (sharing the 2 cores) limits throughput and "CPU ÷ bare" is the fairer ratio. ' +
            '"hooks": whether async_hooks promise hooks were on in the client process.' +
            (spans.length === 0 ? '' : ` Spans exported per call: ${spans.join(' · ')}.`) +
            rows
              .filter((r) => r.observationsPerCall !== null)
              .map((r) => ` Histogram observations per call (${r.id}): ${r.observationsPerCall.toFixed(3)}.`)
              .join(''),
        ],
      },
    ],
    targets,
  };
}

async function main() {
  const log = (line) => process.stderr.write(`${line}\n`);
  const out = option('out', join(here, 'results', 'http-client.json'));
  const ids = selectedIds(CLIENTS);
  const loadOptions = { ...loadRounds(), concurrency: Number(option('concurrency', 10)) };
  const run = startRun();
  const rows = summarise(await runClients({ ids, ...loadOptions, log }));
  const meta = finishMeta(
    import.meta.url,
    ['packages/adapters-http/src', 'packages/telemetry/src', 'packages/resilience/src'],
    run,
    [
      'undici',
      '@opentelemetry/sdk-node',
      '@opentelemetry/instrumentation-undici',
      'cockatiel',
      'prom-client',
    ],
    { load: loadOptions },
  );
  emit(report(meta, rows), rows, out, log);
}

const served = process.argv.indexOf('--serve');
const client = process.argv.indexOf('--client');
if (served >= 0) {
  const counter = { served: 0 };
  await serveChild(() => target(counter), counter);
} else if (client >= 0) {
  const id = process.argv[client + 1];
  if (!Object.hasOwn(CLIENTS, id)) throw new Error(`unknown contender ${id}`);
  await clientChild(CLIENTS, id, process.argv[client + 2]);
} else {
  await main();
}
