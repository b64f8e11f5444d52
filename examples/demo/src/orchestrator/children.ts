import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type ChildMessage,
  CONFIG_ENV,
  type ParentMessage,
  type ServiceConfig,
  type ServiceName,
  type SpanRecord,
} from '../protocol.js';

const STDERR_LINES = 20;
const READY_TIMEOUT_MS = 20_000;

/** A running service process. */
export interface Child {
  readonly name: ServiceName;
  readonly pid: number;
  readonly metricsPort: number;
  /** Its own listener (HTTP or gRPC), when it has one. */
  readonly port: number | undefined;
  /** Resolves with the exit code (or the signal's name) once the process has exited. */
  readonly exited: Promise<number | string>;
  readonly alive: boolean;
  send(message: ParentMessage): void;
  /** The last lines it wrote to stderr. */
  stderrTail(): string[];
  kill(): void;
}

export interface ForkOptions {
  readonly onSpans: (spans: readonly SpanRecord[]) => void;
  /** Called when the process exits, whoever asked it to. */
  readonly onExit: (child: Child, code: number | string) => void;
}

// Every process forked, until it exits: killed outright if the orchestrator itself exits early.
const running = new Set<ChildProcess>();

/** Kills every service process still running (the orchestrator's last resort on exit). */
export function killAllNow(): void {
  for (const proc of running) proc.kill('SIGKILL');
}

const FILES: Record<ServiceName, string> = {
  payments: 'payments',
  orders: 'orders',
  gateway: 'gateway',
  inventory: 'subscriber',
  notifications: 'subscriber',
};

/** Forks one service and resolves once it reports ready; rejects with its stderr if it dies first. */
export function forkService(config: ServiceConfig, options: ForkOptions): Promise<Child> {
  const script = fileURLToPath(new URL(`../services/${FILES[config.service]}.js`, import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env, [CONFIG_ENV]: JSON.stringify(config) };
  delete env.OTEL_SERVICE_NAME; // each service names itself
  const proc: ChildProcess = fork(script, [], {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    execArgv: [],
  });
  running.add(proc);
  const tail: string[] = [];
  proc.stdout?.resume(); // the services' logs (warn and above) stay out of the terminal
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    tail.push(...chunk.split('\n').filter((line) => line.trim() !== ''));
    tail.splice(0, Math.max(0, tail.length - STDERR_LINES));
  });
  let alive = true;
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      alive = false;
      running.delete(proc);
      resolve(code ?? signal ?? 'unknown');
    });
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${config.service} did not report ready within ${READY_TIMEOUT_MS / 1000} s`));
    }, READY_TIMEOUT_MS);
    let child: Child | undefined;
    proc.on('message', (message: ChildMessage) => {
      if (message.type === 'spans') options.onSpans(message.spans);
      else if (message.type === 'ready' && child === undefined) {
        clearTimeout(timer);
        child = {
          name: config.service,
          pid: proc.pid ?? -1,
          metricsPort: message.metricsPort,
          port: message.port,
          exited,
          get alive() {
            return alive;
          },
          send(m) {
            if (alive && proc.connected) proc.send(m);
          },
          stderrTail: () => [...tail],
          kill() {
            if (alive) proc.kill('SIGKILL');
          },
        };
        resolve(child);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      if (child === undefined) {
        const why = tail.length > 0 ? `:\n  ${tail.join('\n  ')}` : '';
        reject(new Error(`${config.service} exited (${code}) before it was ready${why}`));
      } else options.onExit(child, code);
    });
  });
}

/** Asks every service to stop, waits up to `graceMs`, then kills what is left. */
export async function stopAll(children: readonly Child[], graceMs: number): Promise<void> {
  for (const child of children) child.send({ type: 'stop' });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  await Promise.race([Promise.all(children.map((c) => c.exited)), late]);
  clearTimeout(timer);
  for (const child of children) child.kill();
  await Promise.all(children.map((c) => c.exited));
}
