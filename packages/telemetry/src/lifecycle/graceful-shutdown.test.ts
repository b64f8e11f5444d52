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
import { CancelledError, pipeline } from '@keel/resilience';
import { defaultTextMapGetter } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpServer } from '../operations/http.js';
import { exchangeSignal, trackExchange } from '../operations/node-exchange.js';
import { testCore } from '../testing/test-core.js';
import type { Drainable } from './drainable.js';
import { gracefulShutdown } from './graceful-shutdown.js';
import { createReadiness } from './readiness.js';

const servers: Server[] = [];
const agents: Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) agent.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
});

const core = testCore();

/** A node:http server whose requests keel's exchange tracking follows, as @keel/express and @keel/http do. */
async function serve(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const op = startHttpServer(core, {
      carrier: req.headers,
      getter: defaultTextMapGetter,
      method: req.method,
    });
    trackExchange(op, req, res, { route: '/work', error: undefined });
    op.run(() => handle(req, res));
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true });
  agents.push(agent);
  return agent;
}

interface Answer {
  readonly status: number;
  readonly connection: string | undefined;
  readonly body: string;
  readonly socket: Socket;
}

function get(port: number, agent: Agent | false = false, path = '/work'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          body,
          socket: req.socket as Socket,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Requests wait here until released; `arrived(n)` resolves once n are being handled. */
function gate() {
  const waiting: ServerResponse[] = [];
  const watchers: { n: number; resolve: () => void }[] = [];
  return {
    hold(_req: IncomingMessage, res: ServerResponse) {
      waiting.push(res);
      for (const w of watchers) if (waiting.length >= w.n) w.resolve();
    },
    arrived(n: number) {
      return new Promise<void>((resolve) => {
        if (waiting.length >= n) resolve();
        else watchers.push({ n, resolve });
      });
    },
    release() {
      for (const res of waiting.splice(0)) res.end('done');
    },
  };
}

describe('gracefulShutdown with a node:http server', () => {
  it('lets the requests in flight finish with 200 and refuses new connections meanwhile', async () => {
    const g = gate();
    const { server, port } = await serve(g.hold);
    const shutdown = gracefulShutdown({ drain: [server], signals: [] });
    const inFlight = [get(port, keepAliveAgent()), get(port, keepAliveAgent()), get(port)];
    await g.arrived(3);
    const done = shutdown.shutdown();
    await expect(get(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    g.release();
    const answers = await Promise.all(inFlight);
    expect(answers.map((a) => [a.status, a.body])).toEqual([
      [200, 'done'],
      [200, 'done'],
      [200, 'done'],
    ]);
    // Kept-alive connections are told to close, so no client reuses a connection to a stopping server.
    expect(answers.map((a) => a.connection)).toEqual(['close', 'close', 'close']);
    expect(await done).toMatchObject({ reason: 'shutdown()', drained: true, failures: [] });
  });

  it('closes idle keep-alive connections at once instead of waiting for their keep-alive timeout', async () => {
    const { server, port } = await serve((_req, res) => res.end('ok'));
    const agent = keepAliveAgent();
    const { socket } = await get(port, agent);
    expect(socket.destroyed).toBe(false); // idle in the agent's pool
    const closed = once(socket, 'close');
    const result = await gracefulShutdown({ drain: [server], signals: [] }).shutdown();
    await closed;
    expect(result.drained).toBe(true);
    expect(server.listening).toBe(false);
  });

  it('closes a connection whose response began with keep-alive before shutdown once that response ends', async () => {
    let finish!: () => void;
    const { server, port } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part 1, ');
      finish = () => res.end('part 2');
    });
    const agent = keepAliveAgent();
    const answer = new Promise<Answer>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/stream', agent }, (res) => {
        const socket = res.socket as Socket;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body === 'part 1, ') {
            shutdownNow();
          }
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body, socket }),
        );
      })
        .on('error', reject)
        .end();
    });
    const shutdown = gracefulShutdown({ drain: [server], signals: [] });
    let done: Promise<unknown> | undefined;
    const shutdownNow = () => {
      done = shutdown.shutdown();
      finish();
    };
    const { status, body, socket, connection } = await answer;
    expect([status, body, connection]).toEqual([200, 'part 1, part 2', 'keep-alive']);
    expect(await done).toMatchObject({ drained: true });
    if (!socket.destroyed) await once(socket, 'close'); // the server ended it: no keep-alive timeout to wait out
  });

  it('cancels a request still running when the grace period ends, through its signal, and records it as cancelled', async () => {
    let signal: AbortSignal | undefined;
    let arrived!: () => void;
    const seen = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const { server, port } = await serve((_req, res) => {
      signal = exchangeSignal(res); // what requestSignal(req) hands the handler in @keel/express
      arrived(); // and never answers
    });
    core.exporter.reset();
    const shutdown = gracefulShutdown({ drain: [server], signals: [], gracePeriodMs: 20 });
    const stuck = get(port).catch((error: unknown) => error);
    await seen;
    const result = await shutdown.shutdown();
    expect(result).toMatchObject({ drained: false, failures: [] });
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(CancelledError);
    expect(await stuck).toMatchObject({ code: 'ECONNRESET' });
    await expect.poll(async () => (await core.finished()).length).toBe(1);
    const [span] = await core.finished();
    expect(span?.attributes).toMatchObject({ 'error.type': 'KEEL_ERR_CANCELLED' });
    expect(span?.status.message).toMatch(/shut down/);
  });

  it('records a request cut short by the end of the grace period as cancelled, even when its handler answers after', async () => {
    let arrived!: () => void;
    const seen = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const { server, port } = await serve((_req, res) => {
      // A handler that turns the abort into an answer, too late: the connection is already gone.
      exchangeSignal(res)?.addEventListener('abort', () => queueMicrotask(() => res.end('cancelled')));
      arrived();
    });
    core.exporter.reset();
    const shutdown = gracefulShutdown({ drain: [server], signals: [], gracePeriodMs: 20 });
    const stuck = get(port).catch((error: unknown) => error);
    await seen;
    expect(await shutdown.shutdown()).toMatchObject({ drained: false });
    expect(await stuck).toMatchObject({ code: 'ECONNRESET' });
    await expect.poll(async () => (await core.finished()).length).toBe(1);
    const [span] = await core.finished();
    expect(span?.attributes).toMatchObject({
      'http.response.status_code': 499,
      'error.type': 'KEEL_ERR_CANCELLED',
    });
  });
});

describe('gracefulShutdown, the sequence', () => {
  it('turns readiness to stopping before anything else, at once', async () => {
    const readiness = createReadiness();
    const order: string[] = [];
    const drainable: Drainable = {
      name: 'consumer',
      drain: async () => {
        order.push(`drain while ${readiness.phase}`);
      },
    };
    const shutdown = gracefulShutdown({ readiness, drain: [drainable], signals: [] });
    void shutdown.shutdown();
    expect(readiness.phase).toBe('stopping');
    expect(await readiness.check()).toMatchObject({ status: 'not ready', notReady: ['stopping'] });
    await shutdown.shutdown();
    expect(order).toEqual(['drain while stopping']);
  });

  it('drains servers and consumers, then closes clients, then flushes telemetry', async () => {
    const order: string[] = [];
    let finishDrain!: () => void;
    const consumer: Drainable = {
      name: 'payments-consumer',
      drain: () =>
        new Promise<void>((resolve) => {
          finishDrain = () => {
            order.push('consumer drained');
            resolve();
          };
        }),
    };
    const client = pipeline('lifecycle-client');
    const shutdown = gracefulShutdown({
      drain: [consumer],
      close: [{ name: 'payments', close: async () => order.push('client closed') }, () => client.dispose()],
      telemetry: { shutdown: async () => void order.push('telemetry flushed') },
      signals: [],
    });
    const done = shutdown.shutdown();
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]); // nothing closes while work is in flight
    finishDrain();
    expect(await done).toMatchObject({ drained: true, failures: [] });
    expect(order).toEqual(['consumer drained', 'client closed', 'telemetry flushed']);
  });

  it('runs once: a second shutdown() or signal shares the first run', async () => {
    let drains = 0;
    const shutdown = gracefulShutdown({
      drain: [{ drain: async () => void drains++ }],
      signals: [],
    });
    const first = shutdown.shutdown('deploy');
    const second = shutdown.shutdown('again');
    expect(second).toBe(first);
    expect(await first).toMatchObject({ reason: 'deploy' });
    expect(await shutdown.shutdown()).toBe(await first);
    expect(drains).toBe(1);
    expect(shutdown.state).toBe('stopped');
  });

  it('starts on SIGTERM or SIGINT by default and removes both listeners as it starts', async () => {
    const before = [process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')];
    let drained!: () => void;
    const finished = new Promise<void>((resolve) => {
      drained = resolve;
    });
    const shutdown = gracefulShutdown({ drain: [{ drain: async () => drained() }] });
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual([
      (before[0] ?? 0) + 1,
      (before[1] ?? 0) + 1,
    ]);
    process.emit('SIGTERM', 'SIGTERM');
    expect(shutdown.state).toBe('stopping');
    expect([process.listenerCount('SIGTERM'), process.listenerCount('SIGINT')]).toEqual(before);
    await finished;
    expect(await shutdown.shutdown()).toMatchObject({ reason: 'SIGTERM' });
  });

  it('moves on from a drainable that ignores the end of the grace period, naming it', async () => {
    const shutdown = gracefulShutdown({
      drain: [{ name: 'stubborn', drain: () => new Promise<void>(() => {}) }],
      signals: [],
      gracePeriodMs: 5,
      closeTimeoutMs: 5,
    });
    const result = await shutdown.shutdown();
    expect(result.drained).toBe(false);
    expect(result.failures).toEqual([{ step: 'stubborn', error: expect.any(Error) }]);
  });

  it('records a step that fails and still runs the rest', async () => {
    let flushed = false;
    const result = await gracefulShutdown({
      close: [
        {
          name: 'broken',
          close: () => {
            throw new Error('already closed');
          },
        },
      ],
      telemetry: {
        shutdown: async () => {
          flushed = true;
        },
      },
      signals: [],
    }).shutdown();
    expect(result.failures).toEqual([{ step: 'broken', error: new Error('already closed') }]);
    expect(flushed).toBe(true);
  });

  it('leaves exit code 1 behind when a step failed in a shutdown a signal started', async () => {
    const before = process.exitCode;
    try {
      const shutdown = gracefulShutdown({
        close: [
          () => {
            throw new Error('pool already ended');
          },
        ],
        signals: ['SIGUSR2'],
      });
      process.emit('SIGUSR2', 'SIGUSR2');
      expect((await shutdown.shutdown()).failures).toHaveLength(1);
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = before;
    }
  });

  it.each([
    [{ drain: 'server' }, TypeError, /gracefulShutdown: option drain must be an array, received "server"/],
    [
      { drain: [{}] },
      TypeError,
      /gracefulShutdown: option drain\[0\] must be a node:http server or a Drainable/,
    ],
    [
      { close: [42] },
      TypeError,
      /gracefulShutdown: option close\[0\] must be a function or an object with close\(\), received 42/,
    ],
    [
      { signals: ['SIGTERMINATE'] },
      TypeError,
      /option signals\[0\] must be a signal name such as 'SIGTERM', received "SIGTERMINATE"/,
    ],
    [
      { signals: ['SIGKILL'] },
      RangeError,
      /option signals\[0\] must be a signal a process can catch, received "SIGKILL"/,
    ],
    [
      { gracePeriodMs: -1 },
      RangeError,
      /option gracePeriodMs must be an integer from 0 to 3600000, received -1/,
    ],
    [
      { closeTimeoutMs: '5s' },
      TypeError,
      /option closeTimeoutMs must be an integer from 1 to 600000, received "5s"/,
    ],
    [{ readiness: {} }, TypeError, /option readiness must be the model createReadiness\(\) returned/],
    [{ telemetry: {} }, TypeError, /option telemetry must be the handle startTelemetry\(\) returned/],
    [{ grace: 5 }, TypeError, /gracefulShutdown: unknown option "grace"/],
  ])('rejects %o at construction, naming the option', (options, type, message) => {
    const before = process.listenerCount('SIGTERM');
    expect(() => gracefulShutdown(options as never)).toThrow(type);
    expect(() => gracefulShutdown(options as never)).toThrow(message);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});
