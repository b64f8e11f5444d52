// Resilience through a chain A → B → C over loopback: what B's @keel/http client decides about C's
// answers, and what A's caller and B's readiness probe see of it.
import { type HttpClientOptions, httpClient } from '@keel/http';
import { createReadiness } from '@keel/telemetry';
import express from 'express';
import { expect, it } from 'vitest';
import { keel, keelErrorHandler, readinessRoute } from '../index.js';
import { rawRequest, SpanKind, serve, TRACEPARENT, useE2e } from '../testing/e2e.js';

const fx = useE2e();
const opened = fx.opened;

type Answer = (res: express.Response, n: number) => void;

/** A → B → C; C answers its n-th request (from 1) with `answer`; B calls C with `client` options. */
async function chain(answer: Answer, client: Partial<HttpClientOptions> = {}, required = false) {
  const { telemetry } = fx.e;
  const seenByC: express.Request['headers'][] = [];
  const c = express();
  c.use(keel({ telemetry }));
  c.all('/c', (req, res) => {
    seenByC.push(req.headers);
    answer(res, seenByC.length);
  });
  const servedC = opened.add(await serve(c));

  const toC = opened.add(httpClient({ name: 'c', baseUrl: servedC.url, telemetry, ...client }));
  const b = express();
  b.use(keel({ telemetry }));
  b.use(express.json());
  b.get('/readyz', readinessRoute(createReadiness({ pipelines: [{ pipeline: toC.pipeline, required }] })));
  b.all('/b', async (req, res) => {
    const answer = await (req.method === 'POST' ? toC.post('/c', { json: req.body }) : toC.get('/c'));
    res.status(answer.status).send(await answer.text());
  });
  b.use(keelErrorHandler());
  const servedB = opened.add(await serve(b));

  const toB = opened.add(httpClient({ name: 'b', baseUrl: servedB.url, telemetry, retry: false }));
  const a = express();
  a.use(keel({ telemetry }));
  a.all('/a', async (req, res) => {
    const answer = await (req.method === 'POST' ? toB.post('/b', { json: { order: 1 } }) : toB.get('/b'));
    res.status(answer.status).send(await answer.text());
  });
  a.use(keelErrorHandler());
  const servedA = opened.add(await serve(a));
  return { a: `${servedA.url}/a`, readyz: `${servedB.url}/readyz`, seenByC };
}

it('retries a GET that C answers 503 with Retry-After, waiting the hint instead of the backoff, in the same trace', async () => {
  const { a, seenByC } = await chain(
    (res, n) => (n === 1 ? res.status(503).set('retry-after', '0').send('busy') : res.send('ok')),
    // A backoff this long would take seconds; Retry-After: 0 must win.
    { retry: { maxAttempts: 3, baseDelayMs: 20_000, maxDelayMs: 20_000 } },
  );
  const started = performance.now();
  const res = await rawRequest(a, { headers: [['x-correlation-id', 'retry-1']] });
  expect(res.status).toBe(200);
  expect(performance.now() - started).toBeLessThan(1_000);
  expect(seenByC).toHaveLength(2);
  const [first, second] = seenByC.map((h) => TRACEPARENT.exec(String(h.traceparent)));
  expect(second?.[1]).toBe(first?.[1]);
  expect(second?.[2]).not.toBe(first?.[2]);
  expect(seenByC.map((h) => h['x-correlation-id'])).toEqual(['retry-1', 'retry-1']);
  const toC = (await fx.e.spans(SpanKind.CLIENT)).filter((s) =>
    s.attributes['url.full']?.toString().endsWith('/c'),
  );
  expect(toC.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1]);
});

it('does not retry a POST without an idempotency key: C sees it once and the 503 reaches the caller', async () => {
  const { a, seenByC } = await chain((res) => res.status(503).set('retry-after', '0').send('busy'));
  const res = await rawRequest(a, { method: 'POST', body: '{}' });
  expect(res.status).toBe(503);
  expect(seenByC).toHaveLength(1);
});

it('opens B’s breaker on a failing C: B answers 503 without calling C, and stays ready, reporting the open circuit', async () => {
  const { a, readyz, seenByC } = await chain((res) => res.status(500).send('broken'), {
    retry: false,
    circuitBreaker: { consecutiveFailures: 3, breakDurationMs: 60_000 },
  });
  expect((await rawRequest(readyz)).status).toBe(200);
  for (let i = 0; i < 3; i++) expect((await rawRequest(a)).status).toBe(500);
  // B can still serve everything that does not need C: taking it out of service would turn one outage into two.
  const ready = await rawRequest(readyz);
  expect(ready.status).toBe(200);
  expect(JSON.parse(ready.body)).toMatchObject({
    status: 'ready',
    notReady: [],
    pipelines: { c: { state: 'open', required: false } },
  });
  const refused = await rawRequest(a);
  expect(refused.status).toBe(503);
  expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'KEEL_ERR_CIRCUIT_OPEN' } });
  expect(seenByC).toHaveLength(3);
});

it('turns B not ready while the breaker of C, a dependency B marked required, is open', async () => {
  const { a, readyz } = await chain(
    (res) => res.status(500).send('broken'),
    { retry: false, circuitBreaker: { consecutiveFailures: 3, breakDurationMs: 60_000 } },
    true,
  );
  for (let i = 0; i < 3; i++) expect((await rawRequest(a)).status).toBe(500);
  const ready = await rawRequest(readyz);
  expect(ready.status).toBe(503);
  expect(JSON.parse(ready.body)).toMatchObject({
    status: 'not ready',
    notReady: ['c'],
    pipelines: { c: { state: 'open', required: true } },
  });
});
