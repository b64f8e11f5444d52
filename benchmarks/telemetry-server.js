import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHttpServer } from '@keel/telemetry/adapter';
import { finishMeta, flag, option, serverLoad, startRun } from './lib/cli.js';
import { interleave, median, pairedMedian, quantile, serve } from './lib/harness.js';
import { loadSection, runLoad, summariseLoad } from './lib/load.js';
import { emit, fmt } from './lib/report.js';
import { serveChild } from './lib/server-child.js';
import {
  countingBatch,
  histogramCount as countOf,
  devNullLogger,
  keelTelemetry,
} from './lib/telemetry-setup.js';

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

const HISTOGRAM = 'http_server_request_duration_seconds';
const histogramCount = (registry) => countOf(registry, HISTOGRAM);

async function keelServer(counter, accessLog) {
  const { defaultTextMapGetter: getter } = await import('@opentelemetry/api');
  const batch = await countingBatch();
  const telemetry = await keelTelemetry(batch.processor);
  const http = await import('node:http');
  const server = http.createServer(function keel(req, res) {
    counter.served++;
    const op = startHttpServer(telemetry, { carrier: req.headers, getter, method: req.method, accessLog });
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
            const op = startHttpServer(telemetry, logged);
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
            const op = startHttpServer(telemetry, silent);
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
            const op = startHttpServer(telemetry, inbound);
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

// ---------------------------------------------------------------- report

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

function report(meta, load, micro) {
  const sections = [];
  if (load) sections.push(loadSection({ ...meta.load, path: '/orders/42' }, load));
  if (micro) {
    const o = meta.micro;
    sections.push({
      heading: 'In process',
      text:
        `no socket; a fake request \`{ method, url, headers }\`; ${o.rounds} interleaved rounds of ≈ ${o.blockMs} ms blocks, each after a forced GC and ≈ ${o.settleMs} ms of untimed calls (lib/harness.js); ` +
        'ns/request is the median over rounds, overhead the median per-round difference from the handler alone; bytes ≈ heap allocated per request.',
      table: {
        head: [
          'contender',
          'what',
          'ns/request',
          'p25–p75',
          'overhead (ns)',
          'bytes/request ≈',
          'extra bytes ≈',
        ],
        align: 'llrrrrr',
        rows: micro.map((r) => [
          r.label,
          r.what,
          fmt.ns(r.nsPerRequest),
          `${fmt.ns(r.nsP25)}–${fmt.ns(r.nsP75)}`,
          r.id === 'bare' ? '—' : fmt.ns(r.overheadNs),
          r.bytesPerRequest.toFixed(0),
          r.id === 'bare' ? '—' : r.extraBytes.toFixed(0),
        ]),
      },
    });
  }
  return {
    id: 'telemetry-server',
    title: '`node:http` server: `startHttpServer` against the bare server and the OpenTelemetry stack',
    measures:
      "Keel's transport-agnostic server operation (server span + histogram + access log line) on a plain `node:http` server, against the bare handler and OpenTelemetry http instrumentation + prom-client + pino-http; over HTTP and in process.",
    meta,
    sections,
    targets: [],
  };
}

async function main() {
  const log = (line) => process.stderr.write(`${line}\n`);
  const out = option('out', join(here, 'results', 'telemetry-server.json'));
  const quick = flag('quick');
  const loadOptions = serverLoad();
  const microOptions = {
    rounds: Number(option('micro-rounds', 10)),
    blockMs: Number(option('micro-block-ms', 150)),
    settleMs: Number(option('micro-settle-ms', 40)),
  };
  const run = startRun();
  let micro;
  // The in-process rows are a breakdown of the Keel row: a full run only.
  if (!flag('skip-micro') && !quick) {
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
    load = summariseLoad(
      await runLoad({ script, ids: Object.keys(SERVERS), path: '/orders/42', ...loadOptions, log }),
      SERVERS,
    );
  }
  const meta = finishMeta(
    import.meta.url,
    ['packages/telemetry/src'],
    run,
    [
      '@opentelemetry/sdk-node',
      '@opentelemetry/instrumentation-http',
      'prom-client',
      'pino',
      'pino-http',
      'autocannon',
    ],
    { load: load && loadOptions, micro: micro && microOptions },
  );
  emit(report(meta, load, micro), { load, micro }, out, log);
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
