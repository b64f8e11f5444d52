// What does observing an inbound HTTP request cost: one server span, one duration histogram sample and
// one access log line?
//
// Three `node:http` servers answer `GET /orders/:id` with a small JSON body, each in a child process of
// its own (OpenTelemetry's http instrumentation patches `http` for the whole process; Keel patches
// nothing, but must not run beside a patched module either):
//   bare  the handler alone
//   keel  @keel/telemetry: `telemetry.httpServer(...)`, `op.run(handler)`, `op.end(...)` on 'finish' —
//         span, histogram (with exemplar) and the helper's access log line
//   otel  NodeSDK + @opentelemetry/instrumentation-http (span), a prom-client Histogram observed per
//         request, and pino-http (one log line per request)
// Spans go the same way in keel and otel: a BatchSpanProcessor over an exporter that drops them (and
// counts them, so the run can show each request produced one). Logs go to /dev/null through
// `pino.destination({ sync: false })` in both.
//
// Load: autocannon, from this process, against one child at a time; after a warm-up, rounds of a few
// seconds per contender in an order that rotates each round. Each child reports its own CPU time and the
// requests it served, so the table also shows server CPU per request, which holds even when the load
// generator (not the server) is the bottleneck.
//
// Micro: in a harness worker (lib/harness.js), ns per request of `httpServer(...)` + `run` + `end(...)`
// on a fake request, without any socket, against the handler alone.
//
// Usage: node --expose-gc telemetry-server.js [--rounds=3] [--duration=5] [--warmup=3]
//        [--connections=10] [--pipelining=1] [--micro-rounds=10] [--micro-block-ms=150] [--micro-settle-ms=40]
//        [--skip-micro] [--skip-load] [--out=results/telemetry-server.json]

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { interleave, machine, median, pairedMedian, quantile, serve } from './lib/harness.js';
import { killChildren, serveChild, startServerChild } from './lib/server-child.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);
const ROUTE = '/orders/:id';
const PREFIX = '/orders/';

// ---------------------------------------------------------------- the servers (child side)

/** The order id of `GET /orders/:id`, or undefined when the request matches no route. */
function orderId(req) {
  if (req.method !== 'GET' || !req.url.startsWith(PREFIX)) return undefined;
  const id = req.url.slice(PREFIX.length);
  return id.length > 0 && !id.includes('/') && !id.includes('?') ? id : undefined;
}

function answer(res, id) {
  if (id === undefined) {
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': 21 });
    res.end('{"error":"not found"}');
    return;
  }
  const body = JSON.stringify({ id, status: 'shipped', items: 3, total: 42.5 });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** A BatchSpanProcessor over an exporter that drops spans and counts them. */
async function countingBatch() {
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
  const exporter = {
    exported: 0,
    export(spans, done) {
      this.exported += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  const processor = new BatchSpanProcessor({ exporter });
  return {
    processor,
    usage: async () => {
      await processor.forceFlush();
      return { spans: exporter.exported };
    },
  };
}

async function devNullLogger() {
  const { default: pino } = await import('pino');
  return pino(pino.destination({ dest: '/dev/null', sync: false }));
}

/** Keel's telemetry as both the keel server and the micro measurement run it. */
async function keelTelemetry(processor) {
  const { startTelemetry } = await import('@keel/telemetry');
  return startTelemetry({
    serviceName: 'bench',
    processMetrics: false,
    traceStore: false,
    spanProcessors: [processor],
    logger: await devNullLogger(),
  });
}

/** Counts of the duration histogram's observations, to show each request was recorded once. */
async function histogramCount(registry) {
  const metric = await registry.getSingleMetric('http_server_request_duration_seconds').get();
  return metric.values.filter((v) => v.metricName.endsWith('_count')).reduce((sum, v) => sum + v.value, 0);
}

async function keelServer(counter, accessLog) {
  const { defaultTextMapGetter: getter } = await import('@opentelemetry/api');
  const batch = await countingBatch();
  const telemetry = await keelTelemetry(batch.processor);
  const http = await import('node:http');
  const server = http.createServer(function keel(req, res) {
    counter.served++;
    const op = telemetry.httpServer({ carrier: req.headers, getter, method: req.method, accessLog });
    const id = orderId(req);
    res.on('finish', () =>
      op.end({ route: id === undefined ? undefined : ROUTE, statusCode: res.statusCode }),
    );
    op.run(() => answer(res, id));
  });
  return {
    server,
    usage: async () => ({
      ...(await batch.usage()),
      observations: await histogramCount(telemetry.metrics.registry),
    }),
    close: () => telemetry.shutdown(),
  };
}

const SERVERS = {
  bare: {
    label: 'bare `node:http`',
    perRequest: 'the handler',
    async build(counter) {
      const http = await import('node:http');
      const server = http.createServer(function bare(req, res) {
        counter.served++;
        answer(res, orderId(req));
      });
      return { server };
    },
  },
  keel: {
    label: 'Keel `telemetry.httpServer`',
    perRequest: 'server span + `http_server_request_duration_seconds` (exemplar) + access log line',
    build: (counter) => keelServer(counter, true),
  },
  'keel-nolog': {
    label: 'Keel, `accessLog: false` (breakdown)',
    perRequest: 'server span + histogram, no log line',
    build: (counter) => keelServer(counter, false),
  },
  otel: {
    label: 'OpenTelemetry http instrumentation + prom-client + pino-http',
    perRequest: 'server span (route set by the handler) + prom-client histogram + pino-http log line',
    async build(counter) {
      const { NodeSDK } = await import('@opentelemetry/sdk-node');
      const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
      const batch = await countingBatch();
      const sdk = new NodeSDK({
        serviceName: 'bench',
        instrumentations: [new HttpInstrumentation()],
        spanProcessors: [batch.processor],
        // As in Keel: empty lists, or NodeSDK would start OTLP metric and log exporters.
        metricReaders: [],
        logRecordProcessors: [],
      });
      sdk.start();
      // The instrumentation patches `http` through require-in-the-middle. `await import('node:http')` is
      // not seen by it unless node runs with its ESM loader hook (--experimental-loader=@opentelemetry/
      // instrumentation/hook.mjs), so an ESM service needs that flag; this contender requires `http`
      // instead, and checks below that the patch took.
      const http = require('node:http');
      if (http.Server.prototype.emit.__wrapped !== true) throw new Error('otel: http.Server was not patched');
      const { trace } = await import('@opentelemetry/api');
      const { Histogram, Registry } = await import('prom-client');
      const { default: pinoHttp } = await import('pino-http');
      const registry = new Registry();
      const histogram = new Histogram({
        name: 'http_server_request_duration_seconds',
        help: 'Duration of HTTP server requests.',
        labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
        registers: [registry],
      });
      const logHttp = pinoHttp({ logger: await devNullLogger() });
      const server = http.createServer(function otel(req, res) {
        counter.served++;
        logHttp(req, res);
        const id = orderId(req);
        const route = id === undefined ? '' : ROUTE;
        const stop = histogram.startTimer({ http_request_method: req.method, http_route: route });
        res.on('finish', () => stop({ http_response_status_code: res.statusCode }));
        // What a node:http service does so its spans carry the route (the instrumentation only knows the path).
        if (id !== undefined) {
          const span = trace.getActiveSpan();
          span?.updateName(`GET ${ROUTE}`);
          span?.setAttribute('http.route', ROUTE);
        }
        answer(res, id);
      });
      return {
        server,
        usage: async () => ({ ...(await batch.usage()), observations: await histogramCount(registry) }),
        close: () => sdk.shutdown(),
      };
    },
  },
};

// ---------------------------------------------------------------- the micro measurement (harness worker)

async function buildMicro() {
  const { defaultTextMapGetter: getter } = await import('@opentelemetry/api');
  const batch = await countingBatch();
  const telemetry = await keelTelemetry(batch.processor);
  // What autocannon sends: no trace context, so every request starts a trace and gets a new correlation ID.
  const req = { method: 'GET', url: '/orders/42', headers: { host: '127.0.0.1:3000' } };
  const traced = {
    method: 'GET',
    url: '/orders/42',
    headers: {
      host: '127.0.0.1:3000',
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      'x-correlation-id': 'req-7f3a9c2e',
    },
  };
  const end = { route: ROUTE, statusCode: 200 };
  const handle = () => 1;
  const opFor = (r, accessLog) => ({ carrier: r.headers, getter, method: r.method, accessLog });
  const logged = opFor(req, true);
  const silent = opFor(req, false);
  const inbound = opFor(traced, true);
  return {
    environment:
      'Keel telemetry started (NodeSDK, BatchSpanProcessor over a dropping exporter, pino to /dev/null)',
    dispose: () => telemetry.shutdown(),
    contenders: [
      {
        id: 'bare',
        label: 'nothing (the handler alone)',
        policies: '—',
        loop: async (n) => {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += handle();
          return sum;
        },
      },
      {
        id: 'keel',
        label: '`httpServer` + `run` + `end`',
        policies: 'span + histogram + access log line; no inbound context',
        loop: async (n) => {
          let sum = 0;
          for (let i = 0; i < n; i++) {
            const op = telemetry.httpServer(logged);
            sum += op.run(handle);
            op.end(end);
          }
          return sum;
        },
      },
      {
        id: 'keel-nolog',
        label: 'the same, `accessLog: false`',
        policies: 'span + histogram',
        loop: async (n) => {
          let sum = 0;
          for (let i = 0; i < n; i++) {
            const op = telemetry.httpServer(silent);
            sum += op.run(handle);
            op.end(end);
          }
          return sum;
        },
      },
      {
        id: 'keel-inbound',
        label: 'the same as `keel`, with `traceparent` + `x-correlation-id`',
        policies: 'span + histogram + access log line; continues the caller’s trace',
        loop: async (n) => {
          let sum = 0;
          for (let i = 0; i < n; i++) {
            const op = telemetry.httpServer(inbound);
            sum += op.run(handle);
            op.end(end);
          }
          return sum;
        },
      },
    ],
  };
}

// ---------------------------------------------------------------- load (parent side)

async function hit(autocannon, port, { seconds, connections, pipelining }) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/orders/42`,
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

async function runLoad({ ids, rounds, seconds, warmup, connections, pipelining, log }) {
  const { default: autocannon } = await import('autocannon');
  const servers = [];
  try {
    for (const id of ids) {
      servers.push({ ...(await startServerChild(script, id, { execArgv: process.execArgv })), samples: [] });
    }
    for (const s of servers) {
      const w = await hit(autocannon, s.port, { seconds: warmup, connections, pipelining });
      log(`warm-up ${s.id}: ${w.total} requests, ${w.rps.toFixed(0)} req/s`);
    }
    for (let round = 0; round < rounds; round++) {
      const started = Date.now();
      for (let i = 0; i < servers.length; i++) {
        const s = servers[(i + round) % servers.length];
        const before = await s.usage();
        const t0 = process.hrtime.bigint();
        const r = await hit(autocannon, s.port, { seconds, connections, pipelining });
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

// ---------------------------------------------------------------- report

function option(name, fallback) {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg === undefined ? fallback : arg.slice(name.length + 3);
}
const flag = (name) => process.argv.includes(`--${name}`);

function versionOf(pkg) {
  let dir = dirname(require.resolve(pkg));
  for (;;) {
    try {
      const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (json.name === pkg) return json.version;
    } catch {}
    const up = dirname(dir);
    if (up === dir) return 'unknown';
    dir = up;
  }
}

function sourceState() {
  const git = (...args) =>
    execFileSync('git', args, { cwd: here, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  try {
    const commit = git('rev-parse', '--short', 'HEAD');
    let modified = false;
    try {
      git('diff', '--quiet', 'HEAD', '--', '../packages/telemetry/src');
    } catch {
      modified = true;
    }
    return `${commit}${modified ? ' + uncommitted changes in packages/telemetry/src' : ''}`;
  } catch {
    return 'unknown';
  }
}

function command() {
  const node = ['node', ...process.execArgv, relative(process.cwd(), script), ...process.argv.slice(2)].join(
    ' ',
  );
  const event = process.env.npm_lifecycle_event;
  return event && event !== 'npx'
    ? `npm run ${event} (runs \`${process.env.npm_lifecycle_script}\` in benchmarks/)`
    : node;
}

function summariseLoad(servers) {
  const bare = servers.find((s) => s.id === 'bare');
  const col = (s, key) => s.samples.map((x) => x[key]);
  return servers.map((s) => {
    const rps = col(s, 'rps');
    const cpu = col(s, 'cpuUsPerRequest');
    return {
      id: s.id,
      label: SERVERS[s.id].label,
      perRequest: SERVERS[s.id].perRequest,
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

function summariseMicro(slots) {
  const bare = slots.find((s) => s.id === 'bare');
  return slots.map((s) => ({
    id: s.id,
    label: s.label,
    what: s.policies,
    callsPerBlock: s.calls,
    nsPerRequest: median(s.ns),
    nsP25: quantile(s.ns, 0.25),
    nsP75: quantile(s.ns, 0.75),
    overheadNs: s.id === 'bare' ? 0 : pairedMedian(s.ns, bare.ns),
    bytesPerRequest: median(s.bytes),
    extraBytes: s.id === 'bare' ? 0 : median(s.bytes) - median(bare.bytes),
    samples: { ns: s.ns, bytes: s.bytes },
  }));
}

const fixed = (x, d) => (x === null || x === undefined ? '—' : x.toFixed(d));
const ms = (x) => (x < 1 ? '< 1' : x.toFixed(0));
const ns = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));

function markdown(meta, load, micro) {
  const out = [
    `Date: ${meta.date} · Node ${meta.node} (V8 ${meta.v8}) · ${meta.cpu} (${meta.cores} cores, ${meta.platform})`,
    `Keel source: ${meta.keelSource} · ${Object.entries(meta.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ')}`,
    `Command: ${meta.command}`,
  ];
  if (load) {
    const o = meta.load;
    out.push(
      '',
      `**Over HTTP** — autocannon, ${o.connections} connections, pipelining ${o.pipelining}, \`GET /orders/42\` on 127.0.0.1; ` +
        `${o.warmup} s warm-up, then ${o.rounds} rounds × ${o.seconds} s per contender, order rotating each round; medians over rounds. ` +
        'Server CPU is user + system time of the server process per request served.',
      '',
      '| contender | per request | req/s | ÷ bare | p50 ms | p99 ms | server CPU µs/req | over bare | capacity ÷ bare (CPU) | server busy |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const r of load) {
      const isBare = r.id === 'bare';
      out.push(
        `| ${r.label} | ${r.perRequest} | ${r.rps.toFixed(0)} | ${isBare ? '1' : fixed(r.rpsVsBare, 2)}× | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} | ` +
          `${r.cpuUsPerRequest.toFixed(1)} | ${isBare ? '—' : `+${r.cpuOverheadUs.toFixed(1)}`} | ${isBare ? '1' : fixed(r.cpuCapacityVsBare, 2)}× | ${(r.serverBusy * 100).toFixed(0)} % |`,
      );
    }
    const checks = load
      .filter((r) => r.spansPerRequest !== null)
      .map((r) => `${r.id} ${fixed(r.spansPerRequest, 3)} / ${fixed(r.observationsPerRequest, 3)}`);
    out.push(
      '',
      'Latency has autocannon’s 1 ms resolution. "Server busy" is server CPU time ÷ wall time (100 % = one core); below 100 % the ' +
        'load generator, sharing the machine, limits throughput, so "capacity ÷ bare (CPU)" (bare’s CPU per request ÷ the ' +
        `contender’s) is the ratio a server-bound run would show. Spans exported / histogram observations per request served: ${checks.join(' · ')}.`,
    );
  }
  if (micro) {
    const o = meta.micro;
    out.push(
      '',
      `**In process** — no socket; a fake request \`{ method, url, headers }\`; ${o.rounds} interleaved rounds of ≈ ${o.blockMs} ms blocks, each after a forced GC and ≈ ${o.settleMs} ms of untimed calls (lib/harness.js); ` +
        'ns/request is the median over rounds, overhead the median per-round difference from the handler alone; bytes ≈ heap allocated per request.',
      '',
      '| contender | what | ns/request | p25–p75 | overhead (ns) | bytes/request ≈ | extra bytes ≈ |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const r of micro) {
      out.push(
        `| ${r.label} | ${r.what} | ${ns(r.nsPerRequest)} | ${ns(r.nsP25)}–${ns(r.nsP75)} | ${r.id === 'bare' ? '—' : ns(r.overheadNs)} | ` +
          `${r.bytesPerRequest.toFixed(0)} | ${r.id === 'bare' ? '—' : r.extraBytes.toFixed(0)} |`,
      );
    }
  }
  return out.join('\n');
}

async function main() {
  const log = (line) => process.stderr.write(`${line}\n`);
  const out = option('out', join(here, 'results', 'telemetry-server.json'));
  const loadOptions = {
    rounds: Number(option('rounds', 3)),
    seconds: Number(option('duration', 5)),
    warmup: Number(option('warmup', 3)),
    connections: Number(option('connections', 10)),
    pipelining: Number(option('pipelining', 1)),
  };
  const microOptions = {
    rounds: Number(option('micro-rounds', 10)),
    blockMs: Number(option('micro-block-ms', 150)),
    settleMs: Number(option('micro-settle-ms', 40)),
  };
  const started = Date.now();
  let micro;
  if (!flag('skip-micro')) {
    const slots = await interleave({
      script,
      environments: ['keel'],
      rounds: microOptions.rounds,
      maxCalls: 200_000,
      minCalls: 5_000,
      blockMs: microOptions.blockMs,
      settleMs: microOptions.settleMs,
      allocCalls: 10_000,
      warmupMs: 1_000,
      log,
    });
    micro = summariseMicro(slots);
  }
  let load;
  if (!flag('skip-load')) {
    load = summariseLoad(await runLoad({ ids: Object.keys(SERVERS), ...loadOptions, log }));
  }
  const meta = {
    date: new Date().toISOString(),
    node: process.versions.node,
    v8: process.versions.v8,
    ...machine(),
    command: command(),
    keelSource: sourceState(),
    versions: Object.fromEntries(
      [
        '@opentelemetry/sdk-node',
        '@opentelemetry/instrumentation-http',
        'prom-client',
        'pino',
        'pino-http',
        'autocannon',
      ].map((p) => [p, versionOf(p)]),
    ),
    load: load && loadOptions,
    micro: micro && microOptions,
    durationS: 0,
  };
  meta.durationS = (Date.now() - started) / 1000;
  const table = markdown(meta, load, micro);
  process.stdout.write(`${table}\n`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ meta, load, micro, markdown: table }, null, 2)}\n`);
  log(`\nwrote ${relative(process.cwd(), out)} (${meta.durationS.toFixed(1)} s)`);
}

const served = process.argv.indexOf('--serve');
const worker = process.argv.indexOf('--worker');
if (served >= 0) {
  const id = process.argv[served + 1];
  const counter = { served: 0 };
  if (!Object.hasOwn(SERVERS, id)) throw new Error(`unknown contender ${id}`);
  await serveChild(() => SERVERS[id].build(counter), counter);
} else if (worker >= 0) {
  await serve(buildMicro);
} else {
  await main();
}
