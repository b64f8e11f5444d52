// Three services in one process — A → B → C, Express in and @keel/http out — over real sockets.
import { setTimeout as sleep } from 'node:timers/promises';
import { httpClient } from '@keel/http';
import { remainingMs } from '@keel/resilience';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import express from 'express';
import { expect, it } from 'vitest';
import { keel, keelErrorHandler } from '../index.js';
import { eventually, rawRequest, SpanKind, serve, useE2e } from '../testing/e2e.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

const fx = useE2e();
const opened = fx.opened;

/** What each service saw while handling the request. */
interface Seen {
  remainingMs: number | undefined;
  deadlineHeader: string | undefined;
  correlationHeader: string | undefined;
}

interface Chain {
  readonly url: string;
  readonly seen: Record<'A' | 'B' | 'C', Seen[]>;
  readonly errors: string[];
}

/**
 * A → B → C. Each handler logs through telemetry.logger and records what arrived; `burnB` makes B wait
 * out its whole deadline before calling C.
 */
async function chain(options: { burnB?: boolean } = {}): Promise<Chain> {
  const { telemetry } = fx.e;
  const seen: Chain['seen'] = { A: [], B: [], C: [] };
  const errors: string[] = [];
  const record = (name: 'A' | 'B' | 'C', req: express.Request) => {
    seen[name].push({
      remainingMs: remainingMs(),
      deadlineHeader: req.get('x-keel-deadline-ms'),
      correlationHeader: req.get('x-correlation-id'),
    });
    telemetry.logger.info({ service: name }, `${name} handling`);
  };
  const app = () => {
    const a = express();
    a.use(keel({ telemetry }));
    return a;
  };

  const c = app();
  c.get('/c', (req, res) => {
    record('C', req);
    res.json({ from: 'C' });
  });
  c.use(keelErrorHandler());
  const servedC = opened.add(await serve(c));

  const toC = opened.add(httpClient({ name: 'c', baseUrl: servedC.url, telemetry }));
  const b = app();
  b.get('/b', async (req, res) => {
    record('B', req);
    if (options.burnB) await sleep((remainingMs() ?? 0) + 5);
    try {
      const answer = await toC.get('/c');
      res.status(answer.status).json(await answer.json());
    } catch (error) {
      errors.push((error as { code?: string }).code ?? String(error));
      throw error;
    }
  });
  b.use(keelErrorHandler());
  const servedB = opened.add(await serve(b));

  const toB = opened.add(httpClient({ name: 'b', baseUrl: servedB.url, telemetry }));
  const a = app();
  a.get('/a', async (req, res) => {
    record('A', req);
    // Relays B's answer as it came: status and body.
    const answer = await toB.get('/b');
    res
      .status(answer.status)
      .type('application/json')
      .send(await answer.text());
  });
  a.use(keelErrorHandler());
  const servedA = opened.add(await serve(a));
  return { url: `${servedA.url}/a`, seen, errors };
}

it('keeps one trace with each hop the child of the one before: A server → A client → B server → B client → C server', async () => {
  const { url } = await chain();
  const res = await rawRequest(url, { headers: [['traceparent', TRACEPARENT]] });
  expect(res.status).toBe(200);
  const spans = await fx.e.spans();
  const server = (route: string) =>
    spans.find((s) => s.kind === SpanKind.SERVER && s.name === `GET ${route}`);
  const clientUnder = (parent: ReadableSpan | undefined) =>
    spans.find(
      (s) => s.kind === SpanKind.CLIENT && s.parentSpanContext?.spanId === parent?.spanContext().spanId,
    );
  const aServer = server('/a');
  const aClient = clientUnder(aServer);
  const bServer = server('/b');
  const bClient = clientUnder(bServer);
  const cServer = server('/c');
  expect(spans).toHaveLength(5);
  expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([TRACE_ID]));
  expect(aServer?.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
  expect(aClient).toBeDefined();
  expect(bServer?.parentSpanContext?.spanId).toBe(aClient?.spanContext().spanId);
  expect(bClient).toBeDefined();
  expect(cServer?.parentSpanContext?.spanId).toBe(bClient?.spanContext().spanId);
});

it('writes the caller’s correlation ID into every service’s log lines, access logs included, and echoes it to the caller', async () => {
  const { url, seen } = await chain();
  const res = await rawRequest(url, { headers: [['x-correlation-id', 'order-4711']] });
  expect(res.headers['x-correlation-id']).toBe('order-4711');
  expect(seen.B[0]?.correlationHeader).toBe('order-4711');
  expect(seen.C[0]?.correlationHeader).toBe('order-4711');
  const records = fx.e.records();
  const handled = records.filter((r) => typeof r.service === 'string' && /^[ABC]$/.test(r.service as string));
  const access = records.filter((r) => r.msg === 'request completed');
  expect(handled.map((r) => r.msg).sort()).toEqual(['A handling', 'B handling', 'C handling']);
  expect(access.map((r) => (r.http as { route: string }).route).sort()).toEqual(['/a', '/b', '/c']);
  expect(new Set([...handled, ...access].map((r) => r.correlation_id))).toEqual(new Set(['order-4711']));
});

it('generates one correlation ID at the edge when the caller sends none, and every hop uses it', async () => {
  const { url } = await chain();
  const res = await rawRequest(url);
  const id = res.headers['x-correlation-id'];
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  const ids = new Set(fx.e.records().map((r) => r.correlation_id));
  expect(ids).toEqual(new Set([id]));
});

it('shrinks the deadline at every hop: B and C see strictly less time than the hop before', async () => {
  const { url, seen } = await chain();
  await rawRequest(url, { headers: [['x-keel-deadline-ms', '5000']] });
  const [a, b, c] = [seen.A[0], seen.B[0], seen.C[0]];
  expect(a?.deadlineHeader).toBe('5000');
  expect(a?.remainingMs).toBeLessThanOrEqual(5000);
  expect(Number(b?.deadlineHeader)).toBeLessThan(5000);
  expect(Number(b?.deadlineHeader)).toBeLessThanOrEqual(a?.remainingMs ?? 0);
  expect(b?.remainingMs).toBeLessThan(a?.remainingMs ?? 0);
  expect(Number(c?.deadlineHeader)).toBeLessThanOrEqual(b?.remainingMs ?? 0);
  expect(c?.remainingMs).toBeLessThan(b?.remainingMs ?? 0);
  expect(c?.remainingMs).toBeGreaterThan(4000);
});

it('fails the call to C fast with KEEL_ERR_TIMEOUT when B has spent the budget, and the caller gets 504', async () => {
  const { url, seen, errors } = await chain({ burnB: true });
  const started = performance.now();
  const res = await rawRequest(url, { headers: [['x-keel-deadline-ms', '150']] });
  expect(res.status).toBe(504);
  expect(JSON.parse(res.body)).toEqual({
    error: { code: 'KEEL_ERR_TIMEOUT', message: expect.any(String) },
  });
  expect(performance.now() - started).toBeLessThan(1_000);
  // A's own deadline ends a moment after B's, so A may answer before B's call to C has failed: wait for it.
  await eventually(() => errors.length > 0);
  expect(errors[0]).toBe('KEEL_ERR_TIMEOUT');
  expect(seen.C).toHaveLength(0);
});
