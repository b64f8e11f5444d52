// Hostile and broken input at the edge of a chain A → B: what A lets through to B, what it logs, and
// what its metrics become. Single-hop parsing limits are the express and telemetry unit tests' job; this
// file checks what the next hop receives and what the chain adds.
import { Agent } from 'node:http';
import { httpClient } from '@keel/http';
import { propagation } from '@opentelemetry/api';
import express from 'express';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keel, keelErrorHandler } from '../index.js';
import {
  type E2e,
  HEADER_VALUE,
  Opened,
  rawRequest,
  type Served,
  serve,
  startE2e,
  TRACEPARENT,
} from '../testing/e2e.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const VALID = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
const CONTEXT_HEADERS = ['traceparent', 'tracestate', 'baggage', 'x-correlation-id', 'x-keel-deadline-ms'];

let e: E2e;
let a: Served;
const opened = new Opened();
/** The headers of every request B received, in order. */
const seenByB: express.Request['headers'][] = [];

beforeAll(async () => {
  e = startE2e();
  const { telemetry } = e;
  const b = express();
  b.use(keel({ telemetry }));
  b.get('/items/:id', (req, res) => {
    seenByB.push(req.headers);
    res.json({ ok: true });
  });
  const servedB = opened.add(await serve(b));
  const toB = opened.add(httpClient({ name: 'b', baseUrl: servedB.url, telemetry, connections: 32 }));
  const app = express();
  app.use(keel({ telemetry }));
  app.get('/items/:id', async (req, res) => {
    telemetry.logger.info(
      { tenant: propagation.getActiveBaggage()?.getEntry('tenant')?.value },
      'a handling',
    );
    // Half the calls go to a path B has no route for: B's 404s must not grow B's series either.
    const path = Number(req.params.id) % 2 === 0 ? `/items/${req.params.id}` : `/nowhere/${req.params.id}`;
    const answer = await toB.get(`${path}?q=${req.params.id}`);
    await answer.dump();
    res.json({ status: answer.status });
  });
  app.use(keelErrorHandler());
  a = opened.add(await serve(app));
});

beforeEach(() => {
  seenByB.length = 0;
  e.reset();
});

afterAll(async () => {
  await opened.closeAll();
  await e.shutdown();
});

/** Every context header B received is a well-formed header value; traceparent is version-00. */
function expectCleanContext(headers: express.Request['headers']): void {
  for (const name of CONTEXT_HEADERS) {
    const value = headers[name];
    if (value !== undefined) expect(value, name).toMatch(HEADER_VALUE);
  }
  expect(headers.traceparent).toMatch(TRACEPARENT);
}

describe('malformed and oversized context', () => {
  it.each<[string, [string, string][], (seen: express.Request['headers'], echoed: string) => void]>([
    [
      'an oversized traceparent starts a new trace',
      [['traceparent', `${VALID}-${'a'.repeat(8_000)}`]],
      (seen) => expect(seen.traceparent).not.toContain(TRACE_ID),
    ],
    [
      'a traceparent of junk starts a new trace',
      [['traceparent', '00-zzzz-{}-\u00ff']],
      (seen) => expect(seen.traceparent).toMatch(TRACEPARENT),
    ],
    [
      'an oversized tracestate is not sent on',
      [
        ['traceparent', VALID],
        ['tracestate', Array.from({ length: 40 }, (_, i) => `k${i}=${'v'.repeat(20)}`).join(',')],
      ],
      (seen) => expect(seen.tracestate).toBeUndefined(),
    ],
    [
      'a malformed tracestate is not sent on',
      [
        ['traceparent', VALID],
        ['tracestate', 'ok=1,Bad Key=2,\u00e9=3'],
      ],
      (seen) => expect(seen.tracestate).toBeUndefined(),
    ],
    [
      'oversized baggage is not sent on',
      [['baggage', Array.from({ length: 200 }, (_, i) => `key${i}=${'v'.repeat(40)}`).join(',')]],
      (seen) => expect(seen.baggage).toBeUndefined(),
    ],
    [
      'malformed baggage is not sent on, not even its valid members',
      [['baggage', 'tenant=acme,=nokey,novalue,bad%zzescape=1']],
      (seen) => expect(seen.baggage).toBeUndefined(),
    ],
    [
      'baggage with a percent-escape that is not UTF-8 is not sent on',
      [['baggage', 'tenant=%ff%fe']],
      (seen) => expect(seen.baggage).toBeUndefined(),
    ],
    [
      'an invalid correlation ID is replaced by the one A echoes',
      [['x-correlation-id', 'not valid; has spaces']],
      (seen, echoed) => expect(seen['x-correlation-id']).toBe(echoed),
    ],
    [
      'an oversized correlation ID is replaced by the one A echoes',
      [['x-correlation-id', 'a'.repeat(129)]],
      (seen, echoed) => expect(seen['x-correlation-id']).toBe(echoed),
    ],
    [
      'a percent-encoded CR/LF in the correlation ID is replaced by the one A echoes',
      [['x-correlation-id', 'abc%0D%0Ax-injected:%20yes']],
      (seen, echoed) => expect(seen['x-correlation-id']).toBe(echoed),
    ],
    [
      'a deadline that is not a number is not sent on as such',
      [['x-keel-deadline-ms', '1e9; drop table']],
      (seen) => expect(seen['x-keel-deadline-ms']).toMatch(/^[0-9]+$/),
    ],
  ])('answers and sends B only valid context when %s', async (_case, headers, check) => {
    const res = await rawRequest(`${a.url}/items/2`, { headers });
    expect(res.status).toBe(200);
    expect(seenByB).toHaveLength(1);
    const [seen = {}] = seenByB;
    expectCleanContext(seen);
    check(seen, String(res.headers['x-correlation-id']));
  });
});

describe('CR/LF smuggled in percent-encoded baggage', () => {
  const BAGGAGE = 'tenant=acme%0D%0Ax-injected:%20yes%00,other=1';

  it('sends the value on percent-encoded again, as one baggage header and no injected header', async () => {
    const res = await rawRequest(`${a.url}/items/2`, { headers: [['baggage', BAGGAGE]] });
    expect(res.status).toBe(200);
    const [seen = {}] = seenByB;
    expect(seen['x-injected']).toBeUndefined();
    expect(seen.baggage).toBe('tenant=acme%0D%0Ax-injected:%20yes%00,other=1');
    expectCleanContext(seen);
  });

  it('keeps every log line on one line, the decoded control characters escaped inside the JSON', async () => {
    await rawRequest(`${a.url}/items/2`, { headers: [['baggage', BAGGAGE]] });
    expect(e.raw.length).toBeGreaterThanOrEqual(3); // A's handler line, A's and B's access lines
    for (const chunk of e.raw) expect(chunk.indexOf('\n')).toBe(chunk.length - 1);
    const handled = e.records().find((r) => r.msg === 'a handling');
    expect(handled?.tenant).toBe('acme\r\nx-injected: yes\u0000');
  });
});

describe('many distinct raw paths through the chain', () => {
  // Ten thousand requests over two hops: about 10 s on an idle machine, several times that on a loaded one.
  it('keeps the metric series and span names of both hops to the route templates', {
    timeout: 120_000,
  }, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const PATHS = 10_000;
    const ids = Array.from({ length: PATHS }, (_, i) => i);
    for (let start = 0; start < PATHS; start += 1_000) {
      await Promise.all(
        ids.slice(start, start + 1_000).map((id) => rawRequest(`${a.url}/items/${id}`, { agent })),
      );
      e.exporter.reset(); // spans are checked on the last batch; keep memory flat
    }
    agent.destroy();
    await rawRequest(`${a.url}/items/1`);
    const text = await e.telemetry.metricsText();
    const series = (metric: string) => text.split('\n').filter((l) => l.startsWith(`${metric}_count{`));
    // A and B share this process's registry: 200 on /items/:id (both), and B's 404 with no route.
    // A → B: 200 and 404, to one server address.
    expect(series('http_server_request_duration_seconds')).toHaveLength(2);
    expect(series('http_client_request_duration_seconds')).toHaveLength(2);
    expect(text).not.toMatch(/keel_metric_series_overflow_total\{[^}]*\} [1-9]/);
    expect(text).not.toMatch(/\/items\/[0-9]|\/nowhere\/[0-9]/);
    const names = new Set((await e.spans()).map((s) => s.name));
    expect([...names].sort()).toEqual(['GET', 'GET /items/:id']);
  });
});
