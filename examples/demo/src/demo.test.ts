// Runs the built demo (`npm test` builds first) as a user does, in a short mode, and checks what it
// promises: it ends by itself with status 0, prints a summary and one trace across every service, loses
// no message, opens the payments breaker in the outage, and leaves no process behind — also on Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Summary } from './orchestrator/summary.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function brokerAvailable(): Promise<boolean> {
  try {
    await (await amqp.connect(AMQP_URL)).close();
    return true;
  } catch (error) {
    if (process.env.CI === 'true')
      throw new Error(`RabbitMQ is required under CI at ${AMQP_URL}`, { cause: error });
    console.warn(`demo test: no RabbitMQ at ${AMQP_URL}; the messaging assertions are skipped`);
    return false;
  }
}

interface Run {
  readonly proc: ChildProcess;
  readonly output: () => string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[]): Run {
  const proc = spawn(process.execPath, [MAIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let output = '';
  proc.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  proc.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { proc, output: () => output, exit };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The PIDs of the processes whose parent is `ppid`, from /proc (Linux). */
async function childrenOf(ppid: number): Promise<number[]> {
  const { readdir } = await import('node:fs/promises');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) pids.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return pids;
}

const messaging = await brokerAvailable();
let dir: string;
beforeAll(async () => {
  expect(existsSync(MAIN), 'build the demo first (npm test runs tsc -b)').toBe(true);
  dir = await mkdtemp(join(tmpdir(), 'keel-demo-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('npm run demo', () => {
  let result: { code: number | null; output: string; summary: Summary; targets: unknown };

  beforeAll(async () => {
    const summaryFile = join(dir, 'summary.json');
    const targetsFile = join(dir, 'targets.json');
    const demo = run(['--duration', '16', '--summary-json', summaryFile, '--targets-file', targetsFile]);
    const { code } = await demo.exit;
    result = {
      code,
      output: demo.output(),
      summary: JSON.parse(await readFile(summaryFile, 'utf8')) as Summary,
      targets: JSON.parse(await readFile(targetsFile, 'utf8')),
    };
  }, 60_000);

  it('ends by itself with status 0 and prints the summary and the phases', () => {
    expect(result.code, result.output).toBe(0);
    for (const phase of ['healthy', 'degraded', 'outage', 'recovery'])
      expect(result.output).toContain(`: ${phase} — `);
    expect(result.output).toContain('Summary: ');
    expect(result.summary.phases.map((p) => p.phase)).toEqual(['healthy', 'degraded', 'outage', 'recovery']);
  });

  it('draws one trace that spans every service', () => {
    const expected = messaging
      ? ['gateway', 'orders', 'payments', 'inventory', 'notifications']
      : ['gateway', 'orders', 'payments'];
    expect([...(result.summary.trace?.services ?? [])].sort()).toEqual([...expected].sort());
    expect(result.output).toContain(`Trace ${result.summary.trace?.traceId}`);
  });

  it('opens the payments breaker during the outage', () => {
    expect(result.summary.outage.breakerOpened).toBeGreaterThan(0);
    expect(result.summary.outage.paymentCalls).toBeGreaterThan(0);
    expect(result.output).toMatch(/payments received \d+ requests, [\d.]+ per call/);
  });

  it.skipIf(!messaging)(
    'accounts for every message: acked + dead-lettered = published × 2, poison orders dead-lettered',
    () => {
      const m = result.summary.messages!;
      expect(m.published).toBeGreaterThan(0);
      const subscribers = Object.values(m.subscribers);
      expect(subscribers.reduce((n, c) => n + c.acked + c.deadLettered, 0)).toBe(m.published * 2);
      expect(m.subscribers.notifications?.deadLettered).toBeGreaterThan(0);
      expect(m.subscribers.inventory?.deadLettered).toBe(0);
      expect(result.output).toContain('nothing lost');
    },
  );

  it('writes a Prometheus file_sd target per running service', () => {
    const ports = result.summary.metricsPorts;
    expect(result.targets).toEqual(
      Object.entries(ports).map(([service, port]) => ({
        targets: [`127.0.0.1:${port}`],
        labels: { service },
      })),
    );
  });

  it('leaves no service process behind', () => {
    expect(result.summary.pids).toHaveLength(messaging ? 5 : 3);
    for (const pid of result.summary.pids) expect(alive(pid), `pid ${pid}`).toBe(false);
  });
});

describe('npm run demo, interrupted', () => {
  it('stops promptly on SIGINT and leaves no service process behind', async () => {
    const demo = run(['--duration', '60']);
    // Once the load runs, every service is up.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the demo did not start:\n${demo.output()}`)), 30_000);
      const check = setInterval(() => {
        if (demo.output().includes(': healthy — ')) {
          clearTimeout(timer);
          clearInterval(check);
          resolve();
        }
      }, 100);
    });
    const services = await childrenOf(demo.proc.pid!);
    expect(services.length).toBe(messaging ? 5 : 3);
    const sent = performance.now();
    demo.proc.kill('SIGINT');
    const { code } = await demo.exit;
    expect(code).toBe(130);
    expect(performance.now() - sent).toBeLessThan(10_000);
    for (const pid of services) expect(alive(pid), `pid ${pid}`).toBe(false);
  }, 45_000);
});
