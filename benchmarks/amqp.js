// Consume throughput on one RabbitMQ: Keel's `consume` (process span, metrics, context, retry topology)
// against bare amqplib and against amqplib under OpenTelemetry's amqplib instrumentation. Each contender
// runs in a child process of its own (the instrumentation patches amqplib when it is loaded), on a queue
// of its own that is filled before the clock starts; the clock runs until every message is acknowledged.
// Contenders run one at a time, in an order that rotates each round.
//
//   node amqp.js [--messages=20000] [--rounds=3] [--prefetch=100] [--quick]
//
// --quick: 2,000 messages, one round (checks the script runs, measures nothing worth publishing).
// The first tenth (at most 500) of each contender's messages is a warm-up outside the clock.

import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { flag, option, versionOf } from './lib/cli.js';
import { median } from './lib/harness.js';
import { countingBatch, keelTelemetry } from './lib/telemetry-setup.js';

const script = fileURLToPath(import.meta.url);
const require = createRequire(import.meta.url);
const URL_ = process.env.KEEL_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const quick = flag('quick');
const MESSAGES = Number(option('messages', quick ? 2_000 : 20_000));
const ROUNDS = Number(option('rounds', quick ? 1 : 3));
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
  return { id, seconds, rate: (MESSAGES - WARMUP) / seconds, left, ...(await usage()) };
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

const rates = Object.fromEntries(CONTENDERS.map((id) => [id, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = CONTENDERS.map((_, i) => CONTENDERS[(i + round) % CONTENDERS.length]);
  for (const id of order) {
    const result = await runChild(id);
    if (result.left !== 0) throw new Error(`${id} left ${result.left} messages in its queue`);
    rates[id].push(result.rate);
    console.error(
      `round ${round + 1} ${id}: ${Math.round(result.rate)} msg/s${result.spans === undefined ? '' : `, ${result.spans} spans`}`,
    );
  }
}
const bare = median(rates.bare);
console.log(
  `\nconsume throughput, ${MESSAGES} messages × ${ROUNDS} round(s), prefetch ${PREFETCH}, median msg/s`,
);
console.log('| contender | msg/s | × bare |\n| --- | ---: | ---: |');
const names = {
  bare: `bare amqplib ${versionOf('amqplib')}`,
  keel: 'Keel `consume` (@keel/amqp)',
  otel: `amqplib + @opentelemetry/instrumentation-amqplib ${versionOf('@opentelemetry/instrumentation-amqplib')}`,
};
for (const id of CONTENDERS) {
  const rate = median(rates[id]);
  console.log(`| ${names[id]} | ${Math.round(rate)} | ${(rate / bare).toFixed(2)} |`);
}
