// Unary gRPC calls: Keel's client and server interceptors (pipeline + telemetry on both sides) against
// bare grpc-js and against OpenTelemetry's grpc instrumentation on both sides. Each contender is a pair —
// its own server process and its own client process — and one pair runs at a time, with a fixed number of
// calls in flight for a fixed time, in an order that rotates each round.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finishMeta, loadRounds, option, selectedIds, startRun } from './lib/cli.js';
import { clientChild, startClient } from './lib/client-child.js';
import { cockatielKeelDefaults } from './lib/cockatiel-defaults.js';
import { median, pairedMedian } from './lib/harness.js';
import { emit, fmt } from './lib/report.js';
import { killChildren, serveChild, startServerChild } from './lib/server-child.js';
import { countingBatch, keelTelemetry } from './lib/telemetry-setup.js';

const here = dirname(fileURLToPath(import.meta.url));
const script = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);
const REPLY = { id: '42', status: 'shipped', items: 3, total: 42.5 };

// ---------------------------------------------------------------- the service (both sides)

function definition() {
  const encode = (value) => Buffer.from(JSON.stringify(value));
  const decode = (bytes) => JSON.parse(bytes.toString());
  return {
    get: {
      path: '/shop.Orders/Get',
      requestStream: false,
      responseStream: false,
      originalName: 'get',
      requestSerialize: encode,
      requestDeserialize: decode,
      responseSerialize: encode,
      responseDeserialize: decode,
    },
  };
}

/** OpenTelemetry's NodeSDK with the grpc instrumentation, before grpc-js is loaded (it patches `require`). */
async function startOtel() {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { GrpcInstrumentation } = await import('@opentelemetry/instrumentation-grpc');
  const batch = await countingBatch();
  const sdk = new NodeSDK({
    serviceName: 'bench',
    instrumentations: [new GrpcInstrumentation()],
    spanProcessors: [batch.processor],
    // As in Keel: empty lists, or NodeSDK would start OTLP metric and log exporters.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return batch;
}

/** grpc-js through `require`, so the OpenTelemetry contender's require hook sees it (ESM imports are not). */
const loadGrpc = () => require('@grpc/grpc-js');

// ---------------------------------------------------------------- the servers (child side)

/** A grpc-js server dressed as the `node:http` server `serveChild` drives. */
function asListener(grpc, server) {
  let port = 0;
  return {
    once() {},
    listen(_port, host, done) {
      server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (error, bound) => {
        if (error) throw error;
        port = bound;
        done();
      });
    },
    address: () => ({ port }),
    close(done) {
      server.forceShutdown();
      done();
    },
  };
}

const SERVERS = {
  async bare(counter) {
    const grpc = loadGrpc();
    const server = new grpc.Server();
    server.addService(definition(), {
      get(_call, callback) {
        counter.served++;
        callback(null, REPLY);
      },
    });
    return { server: asListener(grpc, server) };
  },
  async keel(counter) {
    const batch = await countingBatch();
    const telemetry = await keelTelemetry(batch.processor);
    const grpc = loadGrpc();
    const { keelServerInterceptor } = await import('@keel/grpc');
    const server = new grpc.Server({ interceptors: [keelServerInterceptor({ telemetry })] });
    server.addService(definition(), {
      get(_call, callback) {
        counter.served++;
        callback(null, REPLY);
      },
    });
    return { server: asListener(grpc, server), usage: batch.usage };
  },
  async otel(counter) {
    const batch = await startOtel();
    const grpc = loadGrpc();
    const server = new grpc.Server();
    server.addService(definition(), {
      get(_call, callback) {
        counter.served++;
        callback(null, REPLY);
      },
    });
    return { server: asListener(grpc, server), usage: batch.usage };
  },
  'otel-stack': (counter) => SERVERS.otel(counter),
};

// ---------------------------------------------------------------- the clients (child side)

function unaryCaller(client) {
  return () =>
    new Promise((resolve, reject) =>
      client.get({ id: '42' }, (error, reply) => {
        if (error) reject(error);
        else if (reply.id !== '42') reject(new Error('unexpected reply'));
        else resolve();
      }),
    );
}

function genericClient(grpc, address, options) {
  const Client = grpc.makeGenericClientConstructor(definition(), 'shop.Orders');
  return new Client(address, grpc.credentials.createInsecure(), options);
}

const CLIENTS = {
  bare: {
    label: 'bare grpc-js',
    perCall: 'a generic client and server, no interceptors',
    async build(address) {
      const grpc = loadGrpc();
      const client = genericClient(grpc, address, {});
      return { call: unaryCaller(client), close: () => client.close() };
    },
  },
  keel: {
    label: 'Keel interceptors on both sides',
    perCall:
      'client: default pipeline (total timeout, retry with budget, ratio breaker, attempt timeout) + client span + histogram + injected metadata; server: span + histogram + log line',
    async build(address) {
      const batch = await countingBatch();
      const telemetry = await keelTelemetry(batch.processor);
      const grpc = loadGrpc();
      const { keelClientInterceptor } = await import('@keel/grpc');
      const interceptor = keelClientInterceptor({ name: 'orders', idempotent: true, telemetry });
      const client = genericClient(grpc, address, { interceptors: [interceptor] });
      return {
        call: unaryCaller(client),
        usage: batch.usage,
        close: () => {
          client.close();
          interceptor.close();
        },
      };
    },
  },
  otel: {
    label: 'OpenTelemetry grpc instrumentation on both sides',
    perCall: 'client and server spans through the instrumentation (no pipeline, no metrics, no log line)',
    async build(address) {
      const batch = await startOtel();
      const grpc = loadGrpc();
      const client = genericClient(grpc, address, {});
      return { call: unaryCaller(client), usage: batch.usage, close: () => client.close() };
    },
  },
  'otel-stack': {
    label: 'OpenTelemetry grpc instrumentation on both sides + cockatiel on the client',
    perCall:
      "as the instrumentation row, each client call through cockatiel's `wrap(timeout(30 s), retry(3 attempts, exponential backoff), breaker(50 % over 30 s), timeout(10 s))`, Keel's default policies",
    async build(address) {
      const batch = await startOtel();
      const grpc = loadGrpc();
      const policy = await cockatielKeelDefaults({ attemptTimeoutMs: 10_000 });
      const client = genericClient(grpc, address, {});
      const call = unaryCaller(client);
      return { call: () => policy.execute(call), usage: batch.usage, close: () => client.close() };
    },
  },
};

// ---------------------------------------------------------------- orchestration (parent side)

const serverCpu = (u) => u.cpu.user + u.cpu.system;

async function runPairs({ ids, rounds, seconds, warmup, concurrency, log }) {
  const pairs = [];
  try {
    // One at a time, so no pair starts (imports, JIT) while another is measured.
    for (const id of ids) {
      const server = await startServerChild(script, id, { execArgv: process.execArgv });
      const client = startClient(script, id, `127.0.0.1:${server.port}`);
      pairs.push({ id, server, client, samples: [] });
      await client.ready;
    }
    for (const p of pairs) {
      const w = await p.client.run(warmup, concurrency);
      log(`warm-up ${p.id}: ${w.calls} calls, ${w.rps.toFixed(0)} calls/s`);
    }
    for (let round = 0; round < rounds; round++) {
      const started = Date.now();
      for (let i = 0; i < pairs.length; i++) {
        const p = pairs[(i + round) % pairs.length];
        const before = await p.server.usage();
        const r = await p.client.run(seconds, concurrency);
        const after = await p.server.usage();
        p.samples.push({ ...r, serverCpuUsPerCall: (serverCpu(after) - serverCpu(before)) / r.calls });
        p.final = r;
        p.serverFinal = after;
      }
      log(`round ${round + 1}/${rounds}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    await Promise.allSettled(pairs.flatMap((p) => [p.client.stop(), p.server.stop()]));
    killChildren();
  }
  return pairs;
}

function summarise(pairs) {
  const bare = pairs.find((c) => c.id === 'bare') ?? pairs[0];
  const otel = pairs.find((c) => c.id === 'otel');
  const col = (c, key) => c.samples.map((x) => x[key]);
  const ratio = (c, base, key) => median(c.samples.map((x, i) => x[key] / base.samples[i][key]));
  return pairs.map((c) => ({
    id: c.id,
    label: CLIENTS[c.id].label,
    perCall: CLIENTS[c.id].perCall,
    rps: median(col(c, 'rps')),
    rpsVsBare: ratio(c, bare, 'rps'),
    rpsVsOtel: otel === undefined ? null : ratio(c, otel, 'rps'),
    p50Ms: median(col(c, 'p50')),
    p99Ms: median(col(c, 'p99')),
    clientCpuUsPerCall: median(col(c, 'cpuUsPerCall')),
    clientCpuOverBareUs: c === bare ? 0 : pairedMedian(col(c, 'cpuUsPerCall'), col(bare, 'cpuUsPerCall')),
    serverCpuUsPerCall: median(col(c, 'serverCpuUsPerCall')),
    serverCpuOverBareUs:
      c === bare ? 0 : pairedMedian(col(c, 'serverCpuUsPerCall'), col(bare, 'serverCpuUsPerCall')),
    clientBusy: median(col(c, 'busy')),
    hooks: c.final.hooks,
    clientSpansPerCall: c.final.spans === undefined ? null : c.final.spans / c.final.total,
    serverSpansPerCall:
      c.serverFinal.spans === undefined ? null : c.serverFinal.spans / Math.max(1, c.serverFinal.served),
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
      'calls/s',
      '÷ bare',
      '÷ OpenTelemetry',
      'p50 ms',
      'p99 ms',
      'client CPU µs/call',
      'over bare',
      'server CPU µs/call',
      'over bare',
      'client busy',
      'spans/call (client, server)',
    ],
    align: 'llrrrrrrrrrrl',
    rows: rows.map((r) => [
      r.label,
      r.perCall,
      r.rps.toFixed(0),
      fmt.ratio(r.rpsVsBare),
      fmt.ratio(r.rpsVsOtel),
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      r.clientCpuUsPerCall.toFixed(1),
      fmt.signed(r.clientCpuOverBareUs),
      r.serverCpuUsPerCall.toFixed(1),
      fmt.signed(r.serverCpuOverBareUs),
      `${(r.clientBusy * 100).toFixed(0)} %`,
      `${r.clientSpansPerCall?.toFixed(2) ?? '—'}, ${r.serverSpansPerCall?.toFixed(2) ?? '—'}`,
    ]),
  };
  const keel = find('keel');
  const otel = find('otel');
  const stack = find('otel-stack');
  const targets = [];
  if (keel) {
    targets.push({
      target: '≥ 0.85× bare throughput (the gRPC issue)',
      measured: fmt.ratio(keel.rpsVsBare),
      met: keel.rpsVsBare >= 0.85,
    });
  }
  if (keel && otel) {
    targets.push({
      target: '≥ 1.3× the OpenTelemetry instrumentation (the gRPC issue)',
      measured: `${fmt.ratio(keel.rpsVsOtel)}${stack ? `; ${fmt.ratio(keel.rps / stack.rps)} the instrumentation + cockatiel row` : ''}`,
      met: keel.rpsVsOtel >= 1.3,
    });
  }
  return {
    id: 'grpc',
    title: 'gRPC: `@keel/grpc` interceptors against bare grpc-js and the OpenTelemetry instrumentation',
    measures:
      'Unary `shop.Orders/Get` calls (JSON, a 60-byte reply), 10 in flight on one channel; each contender its own server process and client process, one pair at a time.',
    meta,
    sections: [
      {
        text:
          `${o.concurrency} calls in flight on one channel over 127.0.0.1; ${o.warmup} s warm-up, then ${o.rounds} rounds × ${o.seconds} s per contender, one at a time, order rotating each round; ` +
          'medians over rounds, ratios paired round by round. CPU is user + system time of each process per call.',
        table,
        notes: [
          '"Client busy" is client CPU time ÷ wall time (100 % = one core). Client and server share the 2 cores, so ' +
            'calls/s moves with whichever side is the bottleneck; the CPU columns charge each side its own cost.',
        ],
      },
    ],
    targets,
  };
}

async function main() {
  const log = (line) => process.stderr.write(`${line}\n`);
  const out = option('out', join(here, 'results', 'grpc.json'));
  const ids = selectedIds(CLIENTS);
  const loadOptions = { ...loadRounds(), concurrency: Number(option('concurrency', 10)) };
  const run = startRun();
  const rows = summarise(await runPairs({ ids, ...loadOptions, log }));
  const meta = finishMeta(
    import.meta.url,
    ['packages/adapters-grpc/src', 'packages/telemetry/src', 'packages/resilience/src'],
    run,
    ['@grpc/grpc-js', '@opentelemetry/sdk-node', '@opentelemetry/instrumentation-grpc', 'cockatiel'],
    { load: loadOptions },
  );
  emit(report(meta, rows), rows, out, log);
}

const served = process.argv.indexOf('--serve');
const client = process.argv.indexOf('--client');
if (served >= 0) {
  const id = process.argv[served + 1];
  if (!Object.hasOwn(SERVERS, id)) throw new Error(`unknown contender ${id}`);
  const counter = { served: 0 };
  await serveChild(() => SERVERS[id](counter), counter);
} else if (client >= 0) {
  const id = process.argv[client + 1];
  if (!Object.hasOwn(CLIENTS, id)) throw new Error(`unknown contender ${id}`);
  await clientChild(CLIENTS, id, process.argv[client + 2]);
} else {
  await main();
}
