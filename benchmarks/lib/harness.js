// Interleaved micro-benchmark harness.
//
// The orchestrating process forks one worker process per environment (a process-wide condition, such
// as whether an AsyncLocalStorage is active) and then, round after round, asks one worker at a time to
// run one block of one contender. The order of the blocks rotates every
// round, so slow drift (thermal, frequency scaling, a noisy neighbour) spreads over every contender
// instead of landing on whichever ran last. Only one block ever runs at a time, so the workers never
// compete for the two cores.
//
// A contender is `{ id, label, policies, loop }` where `loop(n)` performs n sequential awaited calls
// and returns the sum of their results. Each contender writes its own loop so that every call site
// stays monomorphic: a shared `for (...) await thunk()` would pay a megamorphic call that the bare
// call then also pays, and would hide the difference we are measuring.

import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { GCProfiler } from 'node:v8';

const now = () => process.hrtime.bigint();

/**
 * Whether an AsyncLocalStorage is active through async_hooks (Node 22's implementation): then every
 * promise runs an init hook that stamps it with an async id and the current store, which makes every
 * promise in the process dearer. Such a promise carries those as symbol-keyed properties.
 */
export function promiseHooksOn() {
  return Object.getOwnPropertySymbols(Promise.resolve()).length > 0;
}

/**
 * Runs a timed block: a full GC so no contender pays for another's garbage, then an untimed settling
 * run of the same contender, then the timed calls. The settling run matters: for a few tens of ms
 * after a forced full GC (sweeping, on a second core that is also the only other core) calls run up
 * to 5× slower, which would charge every allocating contender for the measurement's own GC.
 */
async function timeBlock(contender, calls, settleCalls) {
  if (settleCalls !== undefined) {
    globalThis.gc();
    await contender.loop(settleCalls);
  }
  const start = now();
  const sum = await contender.loop(calls);
  const ns = Number(now() - start) / calls;
  if (sum !== calls) throw new Error(`${contender.id}: expected ${calls} from the loop, received ${sum}`);
  return ns;
}

/**
 * Runs an allocation block: bytes allocated per call, approximated from `heapUsed`. A scavenge during
 * the block would hide what it freed from a plain before/after difference, so the bytes each GC freed
 * (from `v8.GCProfiler`, which reports used heap before and after every GC) are added back.
 */
async function allocBlock(contender, calls) {
  globalThis.gc();
  const profiler = new GCProfiler();
  profiler.start();
  const before = process.memoryUsage().heapUsed;
  await contender.loop(calls);
  const after = process.memoryUsage().heapUsed;
  const { statistics } = profiler.stop();
  let freed = 0;
  for (const gc of statistics)
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
  return { bytes: (after - before + freed) / calls, gcs: statistics.length };
}

/**
 * Worker side: builds the contenders of one environment and serves block requests from the parent
 * until it is told to stop.
 */
export async function serve(build) {
  if (typeof globalThis.gc !== 'function') throw new Error('worker needs --expose-gc');
  const { contenders, environment, dispose } = await build();
  const byId = new Map(contenders.map((c) => [c.id, c]));
  process.on('message', async (msg) => {
    try {
      if (msg.type === 'stop') {
        await dispose?.();
        process.disconnect();
        return;
      }
      const contender = byId.get(msg.id);
      if (msg.type === 'warmup') {
        const start = now();
        let blocks = 0;
        let ns = 0;
        // Run until the JIT has had time to optimise the whole path; the last block calibrates. No GC
        // between warm-up blocks, so the calibration sees the steady state.
        while (blocks < 3 || Number(now() - start) < msg.minMs * 1e6) {
          ns = await timeBlock(contender, msg.calls);
          blocks++;
        }
        process.send({ type: 'done', blocks, ns, ms: Number(now() - start) / 1e6, hooked: promiseHooksOn() });
      } else if (msg.type === 'time') {
        process.send({
          type: 'done',
          ns: await timeBlock(contender, msg.calls, msg.settleCalls),
          hooked: promiseHooksOn(),
        });
      } else if (msg.type === 'alloc') {
        process.send({ type: 'done', ...(await allocBlock(contender, msg.calls)), hooked: promiseHooksOn() });
      }
    } catch (error) {
      process.send({ type: 'error', message: error instanceof Error ? error.stack : String(error) });
    }
  });
  process.send({
    type: 'ready',
    environment,
    hooks: promiseHooksOn(),
    contenders: contenders.map(({ id, label, policies }) => ({ id, label, policies })),
  });
}

function startWorker(script, env) {
  const execArgv = process.execArgv.includes('--expose-gc')
    ? process.execArgv
    : [...process.execArgv, '--expose-gc'];
  const child = fork(script, ['--worker', env], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let pending;
  child.on('message', (msg) => {
    const p = pending;
    pending = undefined;
    if (msg.type === 'error') p?.reject(new Error(`worker ${env}: ${msg.message}`));
    else p?.resolve(msg);
  });
  child.on('exit', (code) => {
    if (pending) pending.reject(new Error(`worker ${env} exited with code ${code}`));
  });
  const request = (msg) =>
    new Promise((resolve, reject) => {
      pending = { resolve, reject };
      if (msg) child.send(msg);
    });
  return { env, child, request };
}

/** The q-quantile of xs, interpolating between neighbours (q = 0.5 is the median). */
export function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (at - lo);
}

export const median = (xs) => quantile(xs, 0.5);

/**
 * Parent side: forks one worker per environment, warms every contender up and sizes its blocks so each
 * lasts about `blockMs` (between `minCalls` and `maxCalls` calls) after a settling run of about
 * `settleMs`, then runs `rounds` rounds of one allocation block and one timed block per contender, in
 * an order that rotates each round. Returns the raw samples; `median` and `pairedMedian` summarise them.
 */
export async function interleave({
  script,
  environments,
  rounds,
  maxCalls,
  minCalls,
  blockMs,
  settleMs,
  allocCalls,
  warmupMs,
  only,
  log,
}) {
  const workers = [];
  const slots = [];
  for (const env of environments) {
    const worker = startWorker(script, env);
    const ready = await worker.request();
    workers.push(worker);
    for (const c of ready.contenders) {
      if (only && !only.includes(c.id) && c.id !== 'bare') continue;
      slots.push({
        worker,
        key: `${env}/${c.id}`,
        env,
        environment: ready.environment,
        hooks: ready.hooks,
        ...c,
        ns: [],
        bytes: [],
        gcs: [],
        hooked: [],
      });
    }
  }
  try {
    for (const slot of slots) {
      const w = await slot.worker.request({ type: 'warmup', id: slot.id, calls: minCalls, minMs: warmupMs });
      slot.calls = Math.max(minCalls, Math.min(maxCalls, Math.round((blockMs * 1e6) / w.ns / 1000) * 1000));
      slot.settleCalls = Math.ceil((settleMs * 1e6) / w.ns / 1000) * 1000;
      slot.allocCalls = Math.min(allocCalls, slot.calls);
      log(
        `warm-up ${slot.key}: ${w.blocks} blocks in ${w.ms.toFixed(0)} ms, ~${w.ns.toFixed(0)} ns/call → ${slot.calls} calls per block`,
      );
    }
    for (let round = 0; round < rounds; round++) {
      const started = Date.now();
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[(i + round) % slots.length];
        const a = await slot.worker.request({ type: 'alloc', id: slot.id, calls: slot.allocCalls });
        const t = await slot.worker.request({
          type: 'time',
          id: slot.id,
          calls: slot.calls,
          settleCalls: slot.settleCalls,
        });
        slot.ns.push(t.ns);
        slot.bytes.push(a.bytes);
        slot.gcs.push(a.gcs);
        slot.hooked.push(t.hooked && a.hooked);
      }
      log(`round ${round + 1}/${rounds}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }
  } finally {
    for (const w of workers) {
      // A worker that keeps a handle open would hang the run: give it a moment, then end it.
      if (w.child.exitCode !== null || w.child.signalCode !== null) continue;
      const exited = new Promise((resolve) => w.child.once('exit', resolve));
      w.child.send({ type: 'stop' });
      const timer = setTimeout(() => w.child.kill(), 5_000);
      await exited;
      clearTimeout(timer);
    }
  }
  return slots.map(({ worker, ...rest }) => rest);
}

/** Median over rounds of the per-round difference a − b: both ran in the same round, close in time. */
export function pairedMedian(a, b) {
  return median(a.map((x, i) => x - b[i]));
}

/** What the report says about the machine. */
export function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    platform: `${process.platform} ${process.arch}`,
  };
}
