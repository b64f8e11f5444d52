// Consume throughput on one RabbitMQ: Keel's `consume` (process span, metrics, context, retry topology)
// against bare amqplib and against amqplib under OpenTelemetry's amqplib instrumentation. Each contender
// runs in a child process of its own (the instrumentation patches amqplib when it is loaded), on a queue
// of its own that is filled before the clock starts; the clock runs until every message is acknowledged.
// Contenders run one at a time, in an order that rotates each round.
//
//   node amqp.js [--messages=20000] [--rounds=3] [--prefetch=100] [--quick] [--out=results/amqp.json]
//
// An unreachable broker (KEEL_AMQP_URL) is reported as skipped, with the reason.
//
// --quick (what `npm run bench` runs): 5,000 messages, two rounds.
// The first tenth (at most 500) of each contender's messages is a warm-up outside the clock.

import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { finishMeta, flag, option, startRun } from './lib/cli.js';
import { median } from './lib/harness.js';
import { emit, fmt } from './lib/report.js';
import { countingBatch, keelTelemetry } from './lib/telemetry-setup.js';

const script = fileURLToPath(import.meta.url);
const here = dirname(script);
const require = createRequire(import.meta.url);
const URL_ = process.env.KEEL_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const quick = flag('quick');
const MESSAGES = Number(option('messages', quick ? 5_000 : 20_000));
const ROUNDS = Number(option('rounds', quick ? 2 : 3));
const PREFETCH = Number(option('prefetch', 100));
const WARMUP = Math.min(500, Math.floor(MESSAGES / 10));
const CONTENDERS = ['bare', 'keel', 'otel'];

// ---------------------------------------------------------------- a contender (child side)

/** Fills `queue` with `count` small JSON messages and waits for every confirm. */
async function fill(channel, queue, count) {
  await channel.assertQueue(queue, { durable: false });
  for (let i = 0; i < count; i++) {
    const body = Buffer.from(JSON.stringify({ orderId: i, status: 'created' }));
    if (!channel.publish('', queue, body, { contentType: 'application/json', messageId: String(i) })) {
      await new Promise((resolve) => channel.once('drain', resolve));
    }
  }
  await channel.waitForConfirms();
}

/** Consumes with plain amqplib: parse, ack. `amqplib` is required (not imported) so the instrumentation sees it. */
function plainConsume(channel, queue, onEach) {
  return channel.consume(queue, (message) => {
    if (message === null) return; // the queue was deleted at the end
    JSON.parse(message.content.toString('utf8'));
    channel.ack(message);
    onEach();
  });
}

/**
 * Counts handled messages: the clock starts once the first `WARMUP` are handled (lazily loaded code,
 * JIT, the consumer's first round trip), and stops at the last.
 */
function clock(onDone) {
  let handled = 0;
  let start;
  return {
    each() {
      handled++;
      if (handled === WARMUP) start = performance.now();
      if (handled === MESSAGES) onDone((performance.now() - start) / 1000);
    },
  };
}

async function contender(id) {
  let usage = async () => ({});
  let consumeAll;
  if (id === 'otel') {
    // The instrumentation must be registered before amqplib is loaded.
    const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
    const { AmqplibInstrumentation } = await import('@opentelemetry/instrumentation-amqplib');
    const { TracerProvider } = await import('@opentelemetry/sdk-trace');
    const { trace } = await import('@opentelemetry/api');
    const batch = await countingBatch();
    const provider = new TracerProvider({ spanProcessors: [batch.processor] });
    trace.setGlobalTracerProvider(provider);
    registerInstrumentations({ instrumentations: [new AmqplibInstrumentation()], tracerProvider: provider });
    usage = batch.usage;
  }
  const amqp = require('amqplib');
  const connection = await amqp.connect(URL_);
  const channel = await connection.createConfirmChannel();
  const queue = `keel-bench.${id}.${randomUUID().slice(0, 8)}`;
  await fill(channel, queue, MESSAGES);
  // The instrumentation traces the fill's publishes too: count only the spans of the consuming.
  const spansBefore = (await usage()).spans ?? 0;
  let consumer;
  if (id === 'keel') {
    const batch = await countingBatch();
    const telemetry = await keelTelemetry(batch.processor);
    const { consume } = await import('@keel/amqp');
    usage = batch.usage;
    consumeAll = (onEach) => {
      return consume(
        channel,
        queue,
        () => {
          onEach();
        },
        { telemetry, prefetch: PREFETCH, declare: false, retry: { maxAttempts: 1 } },
      ).then((c) => {
        consumer = c;
      });
    };
  } else {
    await channel.prefetch(PREFETCH);
    consumeAll = (onEach) => plainConsume(channel, queue, onEach);
  }
  const seconds = await new Promise((resolve) => {
    const counter = clock(resolve);
    consumeAll(() => counter.each());
  });
  // Keel acknowledges after the handler returns: let the last acknowledgements go out.
  await new Promise((resolve) => setTimeout(resolve, 50));
  await consumer?.close();
  const left = (await channel.checkQueue(queue)).messageCount;
  await channel.deleteQueue(queue);
  await connection.close();
  const { spans } = await usage();
  return {
    id,
    seconds,
    rate: (MESSAGES - WARMUP) / seconds,
    left,
    spans: spans === undefined ? undefined : spans - spansBefore,
  };
}

if (process.argv[2] === '--contender') {
  try {
    const result = await contender(process.argv[3]);
    if (process.send === undefined) console.log(result);
    else process.send(result);
  } catch (error) {
    process.send({ error: error instanceof Error ? error.stack : String(error) });
  }
  process.exit(0);
}

// ---------------------------------------------------------------- the parent

function runChild(id) {
  return new Promise((resolve, reject) => {
    const child = fork(script, ['--contender', id, ...process.argv.slice(2)], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('message', (result) => (result.error ? reject(new Error(result.error)) : resolve(result)));
    child.once('exit', (code) => code !== 0 && reject(new Error(`${id} exited with ${code}`)));
  });
}

/** Why the broker cannot be used (a TCP connect to its host and port fails), or undefined. */
function unreachable(url) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 5672) });
    socket.setTimeout(2_000, () => socket.destroy(new Error('no answer in 2 s')));
    socket.once('connect', () => {
      socket.end();
      resolve(undefined);
    });
    socket.once('error', (error) =>
      resolve(`RabbitMQ at ${hostname}:${port || 5672} is unreachable (${error.message})`),
    );
  });
}

const LABELS = {
  bare: 'bare amqplib',
  keel: 'Keel `consume` (@keel/amqp)',
  otel: 'amqplib + `@opentelemetry/instrumentation-amqplib`',
};
const PER_MESSAGE = {
  bare: '`JSON.parse` the body, `ack`',
  keel: '`process {queue}` span, consumed counter and process-duration histogram, context extracted and the handler run in it, body decoded by content type, `ack` after the handler',
  otel: "as bare, with the instrumentation's consumer span",
};

const report = (meta, extra) => ({
  id: 'amqp',
  title: 'AMQP: `@keel/amqp` `consume` against bare amqplib and the OpenTelemetry instrumentation',
  measures:
    'Consume throughput on one RabbitMQ: each contender a child process of its own on a queue of its own, filled with small JSON messages before the clock starts; the clock runs until every message is acknowledged.',
  meta,
  ...extra,
});

const out = option('out', join(here, 'results', 'amqp.json'));
const run = startRun();
const versions = ['amqplib', '@opentelemetry/instrumentation-amqplib'];
const sources = ['packages/adapters-amqp/src', 'packages/telemetry/src'];
const reason = await unreachable(URL_);
if (reason !== undefined) {
  const meta = finishMeta(import.meta.url, sources, run, versions);
  emit(report(meta, { sections: [], targets: [], skipped: reason }), {}, out);
  process.exit(0);
}
const samples = Object.fromEntries(CONTENDERS.map((id) => [id, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = CONTENDERS.map((_, i) => CONTENDERS[(i + round) % CONTENDERS.length]);
  for (const id of order) {
    const result = await runChild(id);
    if (result.left !== 0) throw new Error(`${id} left ${result.left} messages in its queue`);
    samples[id].push(result);
    console.error(
      `round ${round + 1} ${id}: ${Math.round(result.rate)} msg/s${result.spans === undefined ? '' : `, ${result.spans} spans`}`,
    );
  }
}
const rate = (id) => median(samples[id].map((r) => r.rate));
const spans = (id) =>
  samples[id][0].spans === undefined ? '—' : (samples[id].at(-1).spans / MESSAGES).toFixed(2);
const rows = CONTENDERS.map((id) => ({
  id,
  rate: rate(id),
  vsBare: median(samples[id].map((r, i) => r.rate / samples.bare[i].rate)),
}));
const meta = finishMeta(import.meta.url, sources, run, versions, {
  messages: MESSAGES,
  rounds: ROUNDS,
  prefetch: PREFETCH,
});
const keel = rows.find((r) => r.id === 'keel');
const otel = rows.find((r) => r.id === 'otel');
emit(
  report(meta, {
    sections: [
      {
        text: `${MESSAGES.toLocaleString('en')} messages a round (the first ${WARMUP} unclocked), ${ROUNDS} round(s), prefetch ${PREFETCH}, contenders one at a time in a rotating order; median msg/s, ratios paired round by round. Every contender must leave its queue empty.`,
        table: {
          head: ['contender', 'per message', 'msg/s', '÷ bare', 'spans/message'],
          align: 'llrrr',
          rows: rows.map((r) => [
            LABELS[r.id],
            PER_MESSAGE[r.id],
            r.rate.toFixed(0),
            fmt.ratio(r.vsBare),
            spans(r.id),
          ]),
        },
      },
    ],
    targets: [
      { target: '≥ 0.90× bare (the AMQP issue)', measured: fmt.ratio(keel.vsBare), met: keel.vsBare >= 0.9 },
      {
        target: 'ahead of the OpenTelemetry row (the AMQP issue)',
        measured: `${fmt.ratio(keel.rate / otel.rate)} its msg/s`,
        met: keel.rate > otel.rate,
      },
    ],
  }),
  samples,
  out,
);
