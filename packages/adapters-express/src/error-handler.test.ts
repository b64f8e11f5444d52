import { createServer } from 'node:net';
import { httpClient } from '@keel/http';
import {
  BulkheadFullError,
  CancelledError,
  CircuitOpenError,
  RateLimitedError,
  TimeoutError,
} from '@keel/resilience';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { keelErrorHandler } from './error-handler.js';
import { keel } from './keel.js';
import { useHarness } from './testing/harness.js';

const fixture = useHarness();

/** An app whose one route fails with `error`, then the error handler, then whatever `after` adds. */
async function failingWith(
  error: unknown,
  options?: Parameters<typeof keelErrorHandler>[0],
  after?: (app: express.Express) => void,
): Promise<string> {
  const app = express();
  app.use(keel({ telemetry: fixture.h.telemetry }));
  app.get('/orders/:id', async () => {
    throw error;
  });
  app.use(keelErrorHandler(options));
  after?.(app);
  const served = await fixture.serve(app);
  return `${served.url}/orders/1`;
}

/** A loopback port nothing listens on: bound once by the system, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const clients: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
});

/** An app whose one route calls `baseUrl` through a Keel HTTP client, after its retries. */
async function callingDownstream(baseUrl: string): Promise<string> {
  const client = httpClient({
    name: 'payments',
    baseUrl,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    throwOnError: true,
  });
  clients.push(client);
  const app = express();
  app.use(keel({ telemetry: fixture.h.telemetry }));
  app.get('/checkout', async (_req, res) => {
    const charge = await client.get('/charges/1');
    res.json(await charge.json());
  });
  app.use(keelErrorHandler());
  return `${(await fixture.serve(app)).url}/checkout`;
}

describe('keelErrorHandler and a failing dependency', () => {
  it('answers 502 KEEL_ERR_DOWNSTREAM_FAILED when the dependency cannot be reached, with no stack logged', async () => {
    const res = await fetch(await callingDownstream(`http://127.0.0.1:${await closedPort()}`));
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({
      error: { code: 'KEEL_ERR_DOWNSTREAM_FAILED', message: expect.any(String) },
    });
    const [span] = await fixture.h.serverSpans();
    expect(span?.attributes['http.response.status_code']).toBe(502);
    expect(span?.attributes['error.type']).toBe('ECONNREFUSED');
    expect(fixture.h.lines.some((l) => l.msg === 'unhandled error')).toBe(false);
  });

  it('answers 502 when the dependency keeps answering 503', async () => {
    const upstream = express();
    let calls = 0;
    upstream.get('/charges/:id', (_req, res) => {
      calls++;
      res.status(503).send('down for maintenance at db-7.internal');
    });
    const res = await fetch(await callingDownstream((await fixture.serve(upstream)).url));
    const text = await res.text();
    expect(res.status).toBe(502);
    expect(JSON.parse(text).error.code).toBe('KEEL_ERR_DOWNSTREAM_FAILED');
    expect(text).not.toContain('db-7');
    expect(calls).toBe(2);
  });
});

describe('keelErrorHandler', () => {
  it.each([
    ['a timeout', new TimeoutError(250, 'attempt', 'payments'), 504, null],
    ['an open circuit', new CircuitOpenError('open', 4_200, 'payments'), 503, '5'],
    ['a full bulkhead', new BulkheadFullError(8, 0, 'payments'), 503, '1'],
    ['a rate limit', new RateLimitedError(1_500, 'payments'), 429, '2'],
    ['a cancellation', new CancelledError('aborted', 'payments'), 499, null],
  ])('answers %s with %i and Retry-After %s', async (_name, error, status, retryAfter) => {
    const res = await fetch(await failingWith(error));
    expect(res.status).toBe(status);
    expect(res.headers.get('retry-after')).toBe(retryAfter);
    expect(await res.json()).toEqual({ error: { code: error.code, message: expect.any(String) } });
  });

  it('keeps internals out of the body: no pipeline name, no stack', async () => {
    const res = await fetch(await failingWith(new CircuitOpenError('open', 1_000, 'payments-db-primary')));
    const text = await res.text();
    expect(text).not.toContain('payments-db-primary');
    expect(text).not.toContain('at ');
  });

  it('hands the outcome to the request span: error.type and the exception event', async () => {
    await fetch(await failingWith(new TimeoutError(250, 'attempt', 'payments')));
    const [span] = await fixture.h.serverSpans();
    expect(span?.name).toBe('GET /orders/:id');
    expect(span?.attributes['error.type']).toBe('KEEL_ERR_TIMEOUT');
    expect(span?.events.map((e) => e.name)).toContain('exception');
  });

  it('passes any other error on to the next error handler by default', async () => {
    const url = await failingWith(new Error('db down'), undefined, (app) => {
      app.use(
        (_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
          res.status(502).send('mine');
        },
      );
    });
    const res = await fetch(url);
    expect(res.status).toBe(502);
    expect(await res.text()).toBe('mine');
  });

  it("answers any other error 500 with a generic body under unhandled: 'respond', and logs it with its stack", async () => {
    const res = await fetch(
      await failingWith(new Error('secret connection string'), { unhandled: 'respond' }),
    );
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(JSON.parse(text)).toEqual({ error: { code: 'INTERNAL', message: 'Internal server error.' } });
    expect(text).not.toContain('secret');
    const line = fixture.h.lines.find((l) => l.msg === 'unhandled error') as
      | { err?: { stack?: string } }
      | undefined;
    expect(line?.err?.stack).toContain('secret connection string');
  });

  it('records the error on the span of a request that failed with a 500', async () => {
    await fetch(await failingWith(new TypeError('undefined is not a function'), { unhandled: 'respond' }));
    const [span] = await fixture.h.serverSpans();
    expect(span?.attributes['error.type']).toBe('TypeError');
  });

  it('does not mark the span failed when the application answered the error with a 4xx', async () => {
    const invalid = Object.assign(new Error('bad input'), { status: 400 });
    const res = await fetch(await failingWith(invalid));
    const [span] = await fixture.h.serverSpans();
    expect(res.status).toBe(400);
    expect(span?.attributes['error.type']).toBeUndefined();
  });

  it('leaves a response already started to Express, which closes the connection', async () => {
    const app = express();
    app.use(keel({ telemetry: fixture.h.telemetry }));
    app.get('/stream', (_req, res) => {
      res.write('partial');
      throw new TimeoutError(10, 'attempt');
    });
    app.use(keelErrorHandler());
    const served = await fixture.serve(app);
    const res = await fetch(`${served.url}/stream`);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    const [span] = await fixture.h.serverSpans();
    expect(span?.attributes['error.type']).toBe('KEEL_ERR_TIMEOUT');
  });

  it('rejects an unknown unhandled mode with a TypeError naming the option', () => {
    expect(() => keelErrorHandler({ unhandled: 'throw' as never })).toThrow(
      `keelErrorHandler: option unhandled must be one of 'next', 'respond', received "throw"`,
    );
  });
});
