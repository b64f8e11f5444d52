// The client side of the client benchmarks (http-client.js, grpc.js): each contender runs in a child
// process of its own, driven over IPC by the parent, so each has only its own process-wide state.
import { fork } from 'node:child_process';
import { createHistogram } from 'node:perf_hooks';
import { promiseHooksOn } from './harness.js';

const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** `concurrency` loops of sequential calls for `seconds`; latency in a native histogram (ns). */
export async function drive(call, seconds, concurrency) {
  const latency = createHistogram();
  let calls = 0;
  const cpu0 = cpuMicros();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  async function loop() {
    for (let start = process.hrtime.bigint(); start < end; start = process.hrtime.bigint()) {
      await call();
      latency.record(process.hrtime.bigint() - start);
      calls++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop));
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
  const cpu = cpuMicros() - cpu0;
  return {
    rps: calls / (wallUs / 1e6),
    p50: latency.percentile(50) / 1e6,
    p99: latency.percentile(99) / 1e6,
    calls,
    cpuUsPerCall: cpu / calls,
    busy: cpu / wallUs,
  };
}

/**
 * The child side: builds contender `id` of `clients` against `target`, then answers the parent's `run`
 * and `stop` messages.
 */
export async function clientChild(clients, id, target) {
  const contender = await clients[id].build(target);
  await contender.call();
  let total = 1;
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (msg) => {
    try {
      if (msg.type === 'run') {
        const result = await drive(contender.call, msg.seconds, msg.concurrency);
        total += result.calls;
        const usage = contender.usage ? await contender.usage() : {};
        process.send({ type: 'done', ...result, total, hooks: promiseHooksOn(), ...usage });
      } else if (msg.type === 'stop') {
        await contender.close();
        process.exit(0);
      }
    } catch (error) {
      process.send({ type: 'error', message: error instanceof Error ? error.stack : String(error) });
    }
  });
  process.send({ type: 'ready' });
}

/** The parent side: forks `script --client id target` and returns its handle. */
export function startClient(script, id, target) {
  const child = fork(script, ['--client', id, target], {
    execArgv: process.execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise((resolve, reject) => {
      const onExit = (code, signal) => reject(new Error(`${id}: exited (${signal ?? code})`));
      child.once('exit', onExit);
      child.once('message', (msg) => {
        child.off('exit', onExit);
        if (msg.type === 'error') reject(new Error(`${id}: ${msg.message}`));
        else resolve(msg);
      });
    });
  const ready = next();
  return {
    id,
    ready,
    samples: [],
    run(seconds, concurrency) {
      const done = next();
      child.send({ type: 'run', seconds, concurrency });
      return done;
    },
    stop() {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      return exited.finally(() => clearTimeout(timer));
    },
    kill: () => child.kill('SIGKILL'),
  };
}
