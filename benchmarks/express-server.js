// Express 5 hello-world servers, each in a child process of its own, under autocannon: bare Express, Keel's
// middleware + error handler + /metrics, and the usual OpenTelemetry + prom-client + pino-http stack.

import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finishMeta, flag, option, selectedIds, serverLoad, startRun } from './lib/cli.js';
import { promiseHooksOn } from './lib/harness.js';
import { loadSection, runLoad, summariseLoad } from './lib/load.js';
import { emit, fmt } from './lib/report.js';
import { serveChild } from './lib/server-child.js';
import { countingBatch, devNullLogger, histogramCount, keelTelemetry } from './lib/telemetry-setup.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);
const ROUTE = '/orders/:id';
const HISTOGRAM = 'http_server_request_duration_seconds';

// ---------------------------------------------------------------- the servers (child side)

function order(req, res) {
  res.json({ id: req.params.id, status: 'shipped', items: 3, total: 42.5 });
}

/** The node:http server around an app; counts what it serves and says whether promise hooks are on. */
function serverOf(http, app, counter, extra) {
  const server = http.createServer(function serve(req, res) {
    counter.served++;
    app(req, res);
  });
  return {
    server,
    ...extra,
    usage: async () => ({ hooks: promiseHooksOn(), ...(extra?.usage ? await extra.usage() : {}) }),
  };
}

async function bareApp() {
  const { default: express } = await import('express');
  const app = express();
  app.get(ROUTE, order);
  return app;
}

async function keelServer(counter, accessLog, logger = undefined) {
  const batch = await countingBatch();
  const telemetry = await keelTelemetry(batch.processor, logger);
  const { default: express } = await import('express');
  const { keel, keelErrorHandler, metricsRoute } = await import('@keel/express');
  const app = express();
  app.use(keel({ telemetry, accessLog }));
  app.get('/metrics', metricsRoute(telemetry));
  app.get(ROUTE, order);
  app.use(keelErrorHandler());
  return serverOf(await import('node:http'), app, counter, {
    usage: async () => ({
      ...(await batch.usage()),
      observations: await histogramCount(telemetry.metrics.registry, HISTOGRAM),
    }),
    close: () => telemetry.shutdown(),
  });
}

const SERVERS = {
  bare: {
    label: 'bare Express 5',
    perRequest: 'the route',
    build: async (counter) => serverOf(await import('node:http'), await bareApp(), counter),
  },
  'bare-als': {
    label: 'bare Express 5, an AsyncLocalStorage entered once (the floor)',
    perRequest: 'the route; async_hooks on for every promise and resource (Node 22)',
    async build(counter) {
      // What any context propagation switches on, before a single span: Keel's and OpenTelemetry's alike.
      new AsyncLocalStorage().enterWith({ floor: true });
      return serverOf(await import('node:http'), await bareApp(), counter);
    },
  },
  keel: {
    label: 'Keel: `keel({ telemetry })` + `keelErrorHandler()` + `metricsRoute`',
    perRequest:
      "context + server span + histogram (exemplar) + access log line (Keel's default destination: one write per event-loop turn) + correlation ID echoed",
    build: (counter) => keelServer(counter, true),
  },
  'keel-sync-log': {
    label: 'Keel, one log write per line (breakdown)',
    perRequest: 'the same, each log line written at once (`pino.destination({ sync: true })`)',
    build: (counter) => keelServer(counter, true, { writes: 'sync' }),
  },
  'keel-async-log': {
    label: "Keel, pino's default destination (breakdown)",
    perRequest:
      "the same through pino's default for `pino()`: asynchronous, a thread-pool write whenever the writer is idle (Keel's default before `turnDestination`)",
    build: (counter) => keelServer(counter, true, { writes: 'async' }),
  },
  'keel-nolog': {
    label: 'Keel, `accessLog: false` (breakdown)',
    perRequest: 'the same without the log line',
    build: (counter) => keelServer(counter, false),
  },
  otel: {
    label: 'OpenTelemetry http + express instrumentation + prom-client + pino-http',
    perRequest: 'http server span + express spans + prom-client histogram + pino-http log line',
    async build(counter) {
      const { NodeSDK } = await import('@opentelemetry/sdk-node');
      const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
      const { ExpressInstrumentation } = await import('@opentelemetry/instrumentation-express');
      const batch = await countingBatch();
      const sdk = new NodeSDK({
        serviceName: 'bench',
        instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()],
        spanProcessors: [batch.processor],
        // As in Keel: empty lists, or NodeSDK would start OTLP metric and log exporters.
        metricReaders: [],
        logRecordProcessors: [],
      });
      sdk.start();
      // Both instrumentations patch through require-in-the-middle: an ESM `import` of http or express is
      // not seen unless node runs with the ESM loader hook (--experimental-loader=@opentelemetry/
      // instrumentation/hook.mjs). This contender requires both after sdk.start(), and checks the patches took.
      const http = require('node:http');
      const express = require('express');
      if (http.Server.prototype.emit.__wrapped !== true) throw new Error('otel: http.Server was not patched');
      if (express.application.use.__wrapped !== true) throw new Error('otel: express was not patched');
      const { Histogram, Registry } = await import('prom-client');
      const { default: pinoHttp } = await import('pino-http');
      const registry = new Registry();
      const histogram = new Histogram({
        name: HISTOGRAM,
        help: 'Duration of HTTP server requests.',
        labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
        buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10],
        registers: [registry],
      });
      const app = express();
      app.use(pinoHttp({ logger: await devNullLogger() }));
      app.use(function metrics(req, res, next) {
        const stop = histogram.startTimer({ http_request_method: req.method });
        res.on('finish', () =>
          stop({
            http_route: req.route === undefined ? '' : req.baseUrl + req.route.path,
            http_response_status_code: res.statusCode,
          }),
        );
        next();
      });
      app.get('/metrics', async (_req, res) => {
        res.set('content-type', registry.contentType).end(await registry.metrics());
      });
      app.get(ROUTE, order);
      app.use(function errors(error, req, res, _next) {
        req.log.error({ err: error }, 'request failed');
        res.status(500).json({ error: 'internal' });
      });
      return serverOf(http, app, counter, {
        usage: async () => ({
          ...(await batch.usage()),
          observations: await histogramCount(registry, HISTOGRAM),
        }),
        close: () => sdk.shutdown(),
      });
    },
  },
};

// ---------------------------------------------------------------- report (parent side)

function report(meta, rows) {
  const find = (id) => rows.find((r) => r.id === id);
  const keel = find('keel');
  const otel = find('otel');
  const floor = find('bare-als');
  const targets = [];
  if (keel && otel) {
    const ratio = keel.cpuUsPerRequest === 0 ? null : otel.cpuUsPerRequest / keel.cpuUsPerRequest;
    targets.push({
      target: "≥ 2× the OpenTelemetry stack's throughput",
      measured: `${fmt.ratio(keel.rps / otel.rps)} req/s; ${fmt.ratio(ratio)} by server CPU per request`,
      met: keel.rps / otel.rps >= 2,
    });
  }
  if (keel && floor) {
    targets.push({
      target: "within 0.10 of the AsyncLocalStorage floor's ratio to bare",
      measured: `Keel ${fmt.ratio(keel.rpsVsBare)}, floor ${fmt.ratio(floor.rpsVsBare)} (by CPU: ${fmt.ratio(keel.cpuCapacityVsBare)}, ${fmt.ratio(floor.cpuCapacityVsBare)})`,
      met: floor.rpsVsBare - keel.rpsVsBare <= 0.1,
    });
  }
  return {
    id: 'express-server',
    title: 'Express: `keel()` against bare Express and the OpenTelemetry stack',
    measures:
      'An Express 5 app answering `GET /orders/42` from the route `/orders/:id`, each contender a server process of its own under autocannon: bare, bare with an AsyncLocalStorage entered (the floor), `keel()` + `keelErrorHandler()` + `metricsRoute`, and OpenTelemetry http + express instrumentation + prom-client + pino-http.',
    meta,
    sections: [
      loadSection({ ...meta.load, path: '/orders/42' }, rows),
      { text: `Promise hooks on: ${meta.hooks}.` },
    ],
    targets,
  };
}

async function main() {
  const log = (line) => process.stderr.write(`${line}\n`);
  const out = option('out', join(here, 'results', 'express-server.json'));
  // The breakdown rows (log destinations, no log) only in a full run.
  const ids =
    flag('quick') && option('only', undefined) === undefined
      ? ['bare', 'bare-als', 'keel', 'otel']
      : selectedIds(SERVERS);
  const loadOptions = serverLoad();
  const run = startRun();
  const servers = await runLoad({ script, ids, path: '/orders/42', ...loadOptions, log });
  const rows = summariseLoad(servers, SERVERS);
  const hooks = servers.map((s) => `${s.id} ${s.final.hooks ? 'yes' : 'no'}`).join(' · ');
  const meta = finishMeta(
    import.meta.url,
    ['packages/adapters-express/src', 'packages/telemetry/src'],
    run,
    [
      'express',
      '@opentelemetry/sdk-node',
      '@opentelemetry/instrumentation-http',
      '@opentelemetry/instrumentation-express',
      'prom-client',
      'pino-http',
      'autocannon',
    ],
    { load: loadOptions, hooks },
  );
  emit(report(meta, rows), rows, out, log);
}

const served = process.argv.indexOf('--serve');
if (served >= 0) {
  const id = process.argv[served + 1];
  const counter = { served: 0 };
  if (!Object.hasOwn(SERVERS, id)) throw new Error(`unknown contender ${id}`);
  await serveChild(() => SERVERS[id].build(counter), counter);
} else {
  await main();
}
