// The whole shutdown sequence of an Express service, in a child process that gets a real SIGTERM: a
// gateway (keel(), readinessRoute, an httpClient to "payments", gracefulShutdown) whose requests wait on a
// payments server this test holds. Runs on the built packages (`npm test` builds before it tests).
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';

const GATEWAY = `
import express from 'express';
import pino from 'pino';
import { keel, keelErrorHandler, readinessRoute, requestSignal } from '@keel/express';
import { httpClient } from '@keel/http';
import { createReadiness, gracefulShutdown, startTelemetry } from '@keel/telemetry';

const [paymentsUrl, gracePeriodMs] = process.argv.slice(1);
const telemetry = startTelemetry({
  serviceName: 'gateway', processMetrics: false, traceStore: false,
  logger: pino(pino.destination({ dest: 2, sync: true })),
});
const payments = httpClient({ name: 'payments', baseUrl: paymentsUrl, retry: false, telemetry });
const readiness = createReadiness({ pipelines: [payments] });
const app = express();
app.use(keel({ telemetry }));
app.get('/readyz', readinessRoute(readiness));
app.get('/ping', (_req, res) => res.send('pong'));
app.post('/checkout', async (req, res) => {
  const charge = await payments.post('/charges', { json: { amount: 42 }, signal: requestSignal(req) });
  res.status(charge.status).send(await charge.text());
});
app.use(keelErrorHandler());
const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n');
});
const shutdown = gracefulShutdown({
  readiness, drain: [server], close: [payments], telemetry, gracePeriodMs: Number(gracePeriodMs),
});
// Runs after the helper's own listener, so it sees the same run; reports what is left once it is over.
process.once('SIGTERM', () => {
  void shutdown.shutdown().then((result) => setImmediate(() => {
    process.stdout.write(JSON.stringify({
      result: { ...result, failures: result.failures.map((f) => f.step) },
      resources: process.getActiveResourcesInfo(),
      listeners: process.listenerCount('SIGTERM') + process.listenerCount('SIGINT'),
    }) + '\\n');
  }));
});
`;

interface Gateway {
  readonly child: ChildProcess;
  readonly port: number;
  /** Parsed JSON lines the gateway logged (stderr) and reported (stdout). */
  readonly logs: Record<string, unknown>[];
  readonly reports: Record<string, unknown>[];
  readonly exited: Promise<number | null>;
}

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const fn of cleanup.splice(0)) fn();
});

function lines(stream: NodeJS.ReadableStream, into: Record<string, unknown>[], onLine?: () => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('{')) into.push(JSON.parse(line) as Record<string, unknown>);
      onLine?.();
    }
  });
}

async function startGateway(paymentsUrl: string, gracePeriodMs: number): Promise<Gateway> {
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', GATEWAY, paymentsUrl, String(gracePeriodMs)],
    {
      cwd: import.meta.dirname,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  cleanup.push(() => child.kill('SIGKILL'));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const logs: Record<string, unknown>[] = [];
  const reports: Record<string, unknown>[] = [];
  lines(child.stderr as NodeJS.ReadableStream, logs);
  const listening = new Promise<number>((resolve, reject) => {
    lines(child.stdout as NodeJS.ReadableStream, reports, () => {
      const port = reports[0]?.port;
      if (typeof port === 'number') resolve(port);
    });
    void exited.then((code) => reject(new Error(`the gateway exited with ${code}: ${JSON.stringify(logs)}`)));
  });
  return { child, port: await listening, logs, reports, exited };
}

/** A payments server that holds every charge until `release()`. */
async function heldPayments() {
  const held: ServerResponse[] = [];
  const gone: IncomingMessage[] = [];
  let waiters: (() => void)[] = [];
  const server: Server = createServer((req, res) => {
    held.push(res);
    res.on('close', () => {
      if (!res.writableFinished) gone.push(req);
    });
    for (const w of waiters) w();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanup.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    gone,
    async received(n: number) {
      while (held.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
      waiters = [];
    },
    release() {
      for (const res of held.splice(0)) res.end('{"charged":true}');
    },
  };
}

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly socket: Socket;
}

function call(port: number, method: string, path: string, agent: Agent | false = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket: req.socket as Socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * How a new connection fares. Node closes idle connections a moment before the listening socket, so a
 * connection made in that moment is accepted by the kernel and then reset, never served: try again then.
 */
async function newConnection(port: number): Promise<unknown> {
  for (;;) {
    const outcome = await call(port, 'GET', '/readyz').then(
      (answer) => answer.status,
      (error: { code?: unknown }) => error.code,
    );
    if (outcome !== 'ECONNRESET') return outcome;
  }
}

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

function accessStatuses(logs: Record<string, unknown>[]): unknown[] {
  return logs
    .filter((l) => l.msg === 'request completed')
    .map((l) => (l.http as { status_code?: unknown } | undefined)?.status_code);
}

/** The gateway's stdout and stderr, pipes to this test: what any child process has open. */
const STDIO = ['PipeWrap', 'PipeWrap'];

it('on SIGTERM, finishes the requests in flight with 200, refuses new connections, closes idle ones, and exits by itself with nothing open', async () => {
  const payments = await heldPayments();
  const gateway = await startGateway(payments.url, 30_000);
  const agent = new Agent({ keepAlive: true });
  cleanup.push(() => agent.destroy());
  const idle = await call(gateway.port, 'GET', '/ping', agent); // its connection now idles in the pool
  const idleClosed = once(idle.socket, 'close');
  const inFlight = [1, 2, 3].map(() => call(gateway.port, 'POST', '/checkout'));
  await payments.received(3);

  gateway.child.kill('SIGTERM');
  await until(() => gateway.logs.some((l) => l.msg === 'shutting down'));
  await idleClosed; // closed by the gateway at once, not after its keep-alive timeout
  expect(await newConnection(gateway.port)).toBe('ECONNREFUSED');

  payments.release();
  const answers = await Promise.all(inFlight);
  expect(answers.map((a) => [a.status, a.body])).toEqual(Array(3).fill([200, '{"charged":true}']));
  expect(await gateway.exited).toBe(0);
  const report = gateway.reports.at(-1);
  expect(report).toEqual({
    result: { reason: 'SIGTERM', drained: true, failures: [], durationMs: expect.any(Number) },
    resources: STDIO, // nothing else: no socket, timer or server is left
    listeners: 0,
  });
  // The gateway's own access lines: the ping and three checkouts, all 200; not one 499.
  expect(accessStatuses(gateway.logs)).toEqual([200, 200, 200, 200]);
  expect(JSON.stringify(gateway.logs)).not.toContain('KEEL_ERR_CANCELLED');
}, 60_000);

it('cancels a request still running when the grace period ends, through requestSignal, so its downstream call is aborted too', async () => {
  const payments = await heldPayments(); // never released
  const gateway = await startGateway(payments.url, 200);
  const stuck = call(gateway.port, 'POST', '/checkout').catch((error: unknown) => error);
  await payments.received(1);

  gateway.child.kill('SIGTERM');
  expect(await gateway.exited).toBe(0);
  expect(await stuck).toMatchObject({ code: 'ECONNRESET' });
  expect(payments.gone).toHaveLength(1); // the gateway's call to payments was aborted, not left running
  expect(gateway.reports.at(-1)).toMatchObject({
    result: { drained: false, failures: [] },
    resources: STDIO,
  });
  expect(gateway.logs.filter((l) => l.msg === 'request completed')).toEqual([
    expect.objectContaining({
      http: expect.objectContaining({ status_code: 499 }),
      error_type: 'KEEL_ERR_CANCELLED',
    }),
  ]);
}, 60_000);
