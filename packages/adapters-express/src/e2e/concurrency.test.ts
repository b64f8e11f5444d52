// A thousand requests in flight at once through A into a downstream that echoes what it received: each
// keeps its own correlation ID and trace at every step, with no context bleeding between them.
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { httpClient } from '@keel/http';
import express from 'express';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { keel, keelErrorHandler } from '../index.js';
import { type E2e, Opened, rawRequest, type Served, serve, startE2e, TRACEPARENT } from '../testing/e2e.js';

const REQUESTS = 1_000;

let e: E2e;
let a: Served;
const opened = new Opened();

beforeAll(async () => {
  e = startE2e();
  const { telemetry } = e;
  const echo = express();
  echo.use(keel({ telemetry, accessLog: false }));
  echo.get('/echo', (req, res) => {
    res.json({ correlationId: req.get('x-correlation-id'), traceparent: req.get('traceparent') });
  });
  const downstream = opened.add(await serve(echo));
  const toEcho = opened.add(
    httpClient({ name: 'echo', baseUrl: downstream.url, telemetry, connections: 32 }),
  );
  const app = express();
  app.use(keel({ telemetry, accessLog: false }));
  app.get('/a', async (_req, res) => {
    // Yield between the steps, so requests interleave inside the handler as well as on the sockets.
    await new Promise((resolve) => setImmediate(resolve));
    telemetry.logger.info('calling echo');
    const answer = await toEcho.get('/echo');
    res.json(await answer.json());
  });
  app.use(keelErrorHandler());
  a = opened.add(await serve(app));
});

afterAll(async () => {
  await opened.closeAll();
  await e.shutdown();
});

it('keeps each of 1 000 concurrent requests in its own correlation ID and trace, through A and downstream', async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const sent = Array.from({ length: REQUESTS }, (_, i) => ({
    id: `req-${i}`,
    traceId: randomBytes(16).toString('hex'),
  }));
  const results = await Promise.all(
    sent.map(({ id, traceId }) =>
      rawRequest(`${a.url}/a`, {
        agent,
        headers: [
          ['x-correlation-id', id],
          ['traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`],
        ],
      }),
    ),
  );
  agent.destroy();

  results.forEach((res, i) => {
    const { id, traceId } = sent[i] as (typeof sent)[number];
    expect(res.status).toBe(200);
    expect(res.headers['x-correlation-id']).toBe(id);
    const seen = JSON.parse(res.body) as { correlationId: string; traceparent: string };
    expect(seen.correlationId).toBe(id);
    expect(TRACEPARENT.exec(seen.traceparent)?.[1]).toBe(traceId);
  });
  const traceOf = new Map(sent.map(({ id, traceId }) => [id, traceId]));
  const lines = e.records().filter((r) => r.msg === 'calling echo');
  expect(lines).toHaveLength(REQUESTS);
  for (const line of lines) expect(line.trace_id).toBe(traceOf.get(line.correlation_id as string));
});
