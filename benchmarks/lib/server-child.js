// HTTP servers under test, each in a child process of its own.
//
// A child builds one contender's `node:http` server, listens on 127.0.0.1 port 0, prints `PORT <n>` on
// stdout and then answers `usage` requests over IPC with its CPU time and the requests it has served, so
// the parent can charge the server's own CPU to each request whoever the bottleneck is. A child exits
// when the IPC channel closes, so it cannot outlive the parent, even one killed with SIGKILL.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/**
 * Child side: `build()` returns `{ server, usage?, close? }`; `usage()` adds contender-specific counters
 * (such as spans exported) to each reply. `counter.served` must be incremented by the handler.
 */
export async function serveChild(build, counter) {
  const { server, usage, close } = await build();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const stop = async () => {
    server.closeAllConnections?.();
    await new Promise((resolve) => server.close(resolve));
    await close?.();
    process.exit(0);
  };
  process.on('disconnect', () => void stop());
  process.on('message', async (msg) => {
    if (msg.type === 'stop') return void stop();
    if (msg.type === 'usage') {
      process.send({
        type: 'usage',
        cpu: process.cpuUsage(),
        served: counter.served,
        rss: process.memoryUsage().rss,
        ...(usage ? await usage() : {}),
      });
    }
  });
  process.stdout.write(`PORT ${server.address().port}\n`);
}

const live = new Set();

/** Kills every child still running; safe to call from an `exit` handler (synchronous). */
export function killChildren() {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  live.clear();
}

let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  process.once('exit', killChildren);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      killChildren();
      process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
    });
  }
}

/**
 * Parent side: spawns `node [execArgv] script --serve id` and resolves once it prints its port. Returns
 * `{ id, port, usage(), stop() }`.
 */
export async function startServerChild(script, id, { execArgv = [], timeoutMs = 20_000 } = {}) {
  hookExit();
  const child = spawn(process.execPath, [...execArgv, script, '--serve', id], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${id}: no port after ${timeoutMs} ms`)), timeoutMs);
    lines.on('line', (line) => {
      const match = /^PORT (\d+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      } else process.stderr.write(`[${id}] ${line}\n`);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${id}: exited (${signal ?? code}) before printing its port`));
    });
  });
  let pending;
  child.on('message', (msg) => {
    const p = pending;
    pending = undefined;
    p?.resolve(msg);
  });
  child.once('exit', (code, signal) => pending?.reject(new Error(`${id}: exited (${signal ?? code})`)));
  return {
    id,
    port,
    usage: () =>
      new Promise((resolve, reject) => {
        pending = { resolve, reject };
        child.send({ type: 'usage' });
      }),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
