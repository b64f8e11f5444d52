import { once } from 'node:events';
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CancelledError, RateLimitedError } from '@keel/resilience';
import { context, defaultTextMapGetter, ROOT_CONTEXT, SpanStatusCode } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { getCorrelationId } from '../propagation/correlation.js';
import { type TestCore, testCore } from '../testing/test-core.js';
import { startHttpServer } from './http.js';
import { type ExchangeState, exchangeSignal, trackExchange } from './node-exchange.js';

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

/** A node:http server whose every request is tracked; `handle` answers it and may set the state. */
async function serve(
  core: TestCore,
  handle: (
    req: IncomingMessage,
    res: ServerResponse,
    state: ExchangeState & { route: string | undefined },
  ) => void,
): Promise<string> {
  server = createServer((req, res) => {
    const op = startHttpServer(core, {
      carrier: req.headers,
      getter: defaultTextMapGetter,
      method: req.method,
    });
    const state = { route: '/things/:id' as string | undefined, error: undefined as unknown };
    trackExchange(op, req, res, state);
    op.run(() => handle(req, res, state));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function histogramCount(core: TestCore): Promise<string> {
  return (await core.metrics.metricsText()).body
    .split('\n')
    .filter((line) => line.startsWith('http_server_request_duration_seconds_count'))
    .join('\n');
}

describe('trackExchange', () => {
  it('ends the operation once, when the response finishes, and echoes the correlation ID', async () => {
    const core = testCore();
    const url = await serve(core, (_req, res) => res.end('ok'));
    const res = await fetch(`${url}/things/1`, { headers: { 'x-correlation-id': 'req-7' } });
    expect(res.headers.get('x-correlation-id')).toBe('req-7');
    await res.text();
    const spans = await core.finished();
    expect(spans.map((s) => s.name)).toEqual(['GET /things/:id']);
    expect(await histogramCount(core)).toMatch(/http_route="\/things\/:id".* 1$/);
  });

  it('records 499 with KEEL_ERR_CANCELLED when the client goes away before the response', async () => {
    const core = testCore();
    let arrived!: () => void;
    const seen = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const url = await serve(core, () => arrived()); // never answers
    const req = request(`${url}/things/1`);
    req.on('error', () => {});
    req.end();
    await seen;
    req.destroy();
    await expect.poll(async () => (await core.finished()).length).toBe(1);
    const [span] = await core.finished();
    expect(span?.attributes).toMatchObject({
      'http.response.status_code': 499,
      'error.type': 'KEEL_ERR_CANCELLED',
    });
  });

  it('runs listeners added to the request later in the request context', async () => {
    const core = testCore();
    let inEnd: string | undefined;
    const url = await serve(core, (req, res) => {
      // What a body parser does: read the stream, answer from 'end', which the socket emits.
      req.on('data', () => {});
      req.on('end', () => {
        inEnd = getCorrelationId();
        res.end('ok');
      });
    });
    const res = await fetch(`${url}/things/1`, {
      method: 'POST',
      body: 'x'.repeat(100_000),
      headers: { 'x-correlation-id': 'req-body' },
    });
    await res.text();
    expect(inEnd).toBe('req-body');
  });

  it('runs response listeners added later in the request context, and removes them by the function given', async () => {
    const core = testCore();
    let inFinish: string | undefined;
    let removed = 'not called';
    const url = await serve(core, (req, res) => {
      const dropped = () => {
        removed = 'called';
      };
      req.on('end', dropped);
      req.removeListener('end', dropped);
      req.resume();
      // Added and ended from another context: the binding, not the caller, supplies the request's.
      context.with(ROOT_CONTEXT, () => {
        res.once('finish', () => {
          inFinish = getCorrelationId();
        });
        res.end('ok');
      });
    });
    await (await fetch(`${url}/things/1`, { headers: { 'x-correlation-id': 'req-finish' } })).text();
    await expect.poll(() => inFinish).toBe('req-finish');
    expect(removed).toBe('not called');
  });

  it.each([
    ['an error answered 404 is the caller’s mistake', 404, new Error('no such thing'), undefined],
    ['an error answered 500 fails the span', 500, new Error('boom'), 'Error'],
    ['a Keel outcome answered 429 fails the span', 429, new RateLimitedError(1_000), 'KEEL_ERR_RATE_LIMITED'],
  ])('%s', async (_what, status, error, expected) => {
    const core = testCore();
    const url = await serve(core, (_req, res, state) => {
      state.error = error;
      res.statusCode = status;
      res.end();
    });
    await (await fetch(`${url}/things/1`)).text();
    const [span] = await core.finished();
    expect(span?.attributes['error.type']).toBe(expected ?? (status >= 500 ? String(status) : undefined));
    expect(span?.status.code).toBe(expected === undefined ? SpanStatusCode.UNSET : SpanStatusCode.ERROR);
  });

  it('aborts exchangeSignal with the CancelledError the span records when the client leaves', async () => {
    const core = testCore();
    let signal: AbortSignal | undefined;
    let arrived!: () => void;
    const seen = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const url = await serve(core, (_req, res) => {
      signal = exchangeSignal(res);
      expect(exchangeSignal(res)).toBe(signal);
      arrived(); // never answers
    });
    const req = request(`${url}/things/1`);
    req.on('error', () => {});
    req.end();
    await seen;
    req.destroy();
    await expect.poll(() => signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(CancelledError);
    const [span] = await core.finished();
    expect(span?.attributes['error.type']).toBe('KEEL_ERR_CANCELLED');
  });

  it('never aborts exchangeSignal once the response finished, and has none for an untracked response', async () => {
    const core = testCore();
    let signal: AbortSignal | undefined;
    const url = await serve(core, (_req, res) => {
      signal = exchangeSignal(res);
      res.end('ok');
    });
    await (await fetch(`${url}/things/1`)).text();
    await core.finished();
    expect(signal?.aborted).toBe(false);
    expect(exchangeSignal({} as never)).toBeUndefined();
  });
});
