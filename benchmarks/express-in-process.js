// Express 5 apps in one process, without a socket: real IncomingMessage/ServerResponse objects over an
// in-memory duplex, so what Keel adds to the JavaScript of a request is measured without the kernel, the
// load generator and a second process sharing the two cores. Bare Express, keel() with and without the
// access log, interleaved in rotating order; the over-HTTP numbers stay in express-server.js.

import { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { finishMeta, flag, option, startRun } from './lib/cli.js';
import { median, pairedMedian } from './lib/harness.js';
import { emit, fmt } from './lib/report.js';
import { countingBatch, keelTelemetry } from './lib/telemetry-setup.js';

const here = dirname(fileURLToPath(import.meta.url));
const CONTENDERS = {
  bare: 'bare Express 5',
  'keel-nolog': '`keel({ telemetry, accessLog: false })` + `keelErrorHandler()` + `metricsRoute`',
  keel: '`keel({ telemetry })` + `keelErrorHandler()` + `metricsRoute` (access log line to /dev/null)',
};
// How the access log line is written (lib/telemetry-setup.js): `turn`, Keel's default destination (one
// write per event-loop turn), `sync` (one write per line) or `async` (pino's default).
const LOG_WRITES = option('log-writes', 'turn');
// Requests per event-loop turn: a loaded server finishes several per turn (9 on average under 10
// autocannon connections, measured on the bare Express app), and Keel's log lines leave once per turn.
const PER_TURN = Number(option('per-turn', 8));

/** A socket that accepts every write and never reads: enough for a ServerResponse to finish. */
class NullSocket extends Duplex {
  remoteAddress = '127.0.0.1';
  _read() {}
  _write(_chunk, _encoding, done) {
    done();
  }
  _writev(_chunks, done) {
    done();
  }
  setTimeout() {
    return this;
  }
}

function order(req, res) {
  res.json({ id: req.params.id, status: 'shipped', items: 3, total: 42.5 });
}

async function apps() {
  const { default: express } = await import('express');
  const { keel, keelErrorHandler, metricsRoute } = await import('@keel/express');
  const batch = await countingBatch();
  const telemetry = await keelTelemetry(batch.processor, { writes: LOG_WRITES });
  const build = (withKeel, accessLog) => {
    const app = express();
    if (withKeel) {
      app.use(keel({ telemetry, accessLog }));
      app.get('/metrics', metricsRoute(telemetry));
    }
    app.get('/orders/:id', order);
    if (withKeel) app.use(keelErrorHandler());
    return app;
  };
  return {
    apps: { bare: build(false), 'keel-nolog': build(true, false), keel: build(true, true) },
    spans: batch.usage,
    close: () => telemetry.shutdown(),
  };
}

const socket = new NullSocket();
let failures = 0;

/** One `GET /orders/42` through `app`, resolved when the response finishes. */
function request(app) {
  return new Promise((resolve) => {
    const req = new IncomingMessage(socket);
    req.method = 'GET';
    req.url = '/orders/42';
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.headers = { host: 'localhost', 'user-agent': 'bench', accept: '*/*' };
    req.complete = true;
    req.push(null);
    const res = new ServerResponse(req);
    res.assignSocket(socket);
    res.on('finish', () => {
      if (res.statusCode !== 200) failures++;
      res.detachSocket(socket);
      resolve();
    });
    app(req, res);
  });
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

async function block(app, n) {
  for (let i = 0; i < n; i++) {
    await request(app);
    // End the turn every PER_TURN requests, as a server's event loop does: the span processor exports on
    // a timer (without it a full queue would drop spans instead of holding them), and log lines leave.
    if (i % PER_TURN === PER_TURN - 1) await turn();
  }
}

async function main() {
  const log = (line) => process.stderr.write(`${line}\n`);
  const n = Number(option('requests', 1000));
  const rounds = Number(option('rounds', flag('quick') ? 8 : 30));
  const run = startRun();
  const { apps: built, spans, close } = await apps();
  const ids = Object.keys(built);
  for (const id of ids) await block(built[id], n * 2);
  const samples = Object.fromEntries(ids.map((id) => [id, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < ids.length; i++) {
      const id = ids[(i + round) % ids.length];
      const before = process.cpuUsage();
      await block(built[id], n);
      const used = process.cpuUsage(before);
      samples[id].push((used.user + used.system) / n);
    }
    if ((round + 1) % 10 === 0) log(`round ${round + 1}/${rounds}`);
  }
  const { spans: exported } = await spans();
  await close();
  if (failures > 0) throw new Error(`${failures} responses were not 200`);
  // Each request through a Keel app ends one server span; none means the work was not done at all.
  const keelRequests = 2 * (2 * n + rounds * n);
  if (exported === 0) throw new Error('no span was exported: the Keel apps did not end their operations');
  const meta = finishMeta(
    import.meta.url,
    ['packages/adapters-express/src', 'packages/telemetry/src'],
    run,
    ['express'],
    { rounds, requests: n, perTurn: PER_TURN, logWrites: LOG_WRITES },
  );
  const rows = ids.map((id) => ({
    id,
    cpuUs: median(samples[id]),
    overUs: id === 'bare' ? null : pairedMedian(samples[id], samples.bare),
    capacity: median(samples[id].map((x, i) => samples.bare[i] / x)),
  }));
  const writes = {
    turn: "once per turn (Keel's default destination)",
    sync: 'one synchronous write per line',
    async: "through pino's default, asynchronous destination",
  }[LOG_WRITES];
  const report = {
    id: 'express-in-process',
    title: 'Express in process: what `keel()` adds to the JavaScript of a request',
    measures:
      'The bare and Keel Express apps driven with real `IncomingMessage`/`ServerResponse` objects over an in-memory socket, in one process: no kernel, no load generator, less noise than over HTTP.',
    meta,
    sections: [
      {
        text:
          `${rounds} rounds of ${n} sequential requests per app, order rotating each round, after ${2 * n} warm-up requests each; the event-loop turn ends every ${PER_TURN} requests; ` +
          `Keel's log lines written ${writes}; CPU (user + system) per request, median over rounds; "over bare" is the median of per-round differences. ` +
          'All three apps share the process, so the bare app also runs with async_hooks on (the AsyncLocalStorage floor is in every row). ' +
          `Spans exported per Keel request: ${(exported / keelRequests).toFixed(3)}.`,
        table: {
          head: ['contender', 'CPU µs/request', 'over bare', 'capacity ÷ bare'],
          align: 'lrrr',
          rows: rows.map((r) => [
            CONTENDERS[r.id],
            r.cpuUs.toFixed(1),
            fmt.signed(r.overUs),
            fmt.ratio(r.capacity),
          ]),
        },
      },
    ],
    targets: [],
  };
  emit(report, samples, option('out', join(here, 'results', 'express-in-process.json')), log);
}

await main();
