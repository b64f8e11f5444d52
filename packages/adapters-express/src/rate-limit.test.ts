import express from 'express';
import { describe, expect, it } from 'vitest';
import { keel } from './keel.js';
import { rateLimit } from './rate-limit.js';
import { useHarness } from './testing/harness.js';

const fixture = useHarness();

async function limited(options: Parameters<typeof rateLimit>[0]): Promise<string> {
  const app = express();
  app.use(keel({ telemetry: fixture.h.telemetry }));
  app.use(rateLimit(options));
  app.get('/x', (_req, res) => {
    res.sendStatus(204);
  });
  const served = await fixture.serve(app);
  return `${served.url}/x`;
}

const byClient = (req: express.Request) => req.get('x-client');

describe('rateLimit', () => {
  it('answers 429 with Retry-After once a key has spent its burst', async () => {
    const url = await limited({ limit: 2, intervalMs: 60_000, key: byClient });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await fetch(url, { headers: { 'x-client': 'a' } })).status);
    const res = await fetch(url, { headers: { 'x-client': 'a' } });
    expect(statuses).toEqual([204, 204, 429]);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await res.json()).toEqual({
      error: { code: 'KEEL_ERR_RATE_LIMITED', message: expect.any(String) },
    });
  });

  it('limits each key on its own', async () => {
    const url = await limited({ limit: 1, intervalMs: 60_000, key: byClient });
    await fetch(url, { headers: { 'x-client': 'a' } });
    expect((await fetch(url, { headers: { 'x-client': 'b' } })).status).toBe(204);
  });

  it('limits by client address by default', async () => {
    const url = await limited({ limit: 1, intervalMs: 60_000 });
    await fetch(url, { headers: { 'x-client': 'a' } });
    expect((await fetch(url, { headers: { 'x-client': 'b' } })).status).toBe(429);
  });

  it('records a rejection on the request span as KEEL_ERR_RATE_LIMITED', async () => {
    const url = await limited({ limit: 1, intervalMs: 60_000 });
    await fetch(url);
    await fetch(url);
    const spans = await fixture.h.serverSpans(2);
    expect(spans.map((s) => s.attributes['error.type'])).toEqual([undefined, 'KEEL_ERR_RATE_LIMITED']);
  });

  it('keeps at most maxKeys buckets, forgetting the least recently seen key', async () => {
    const url = await limited({ limit: 1, intervalMs: 60_000, key: byClient, maxKeys: 2 });
    await fetch(url, { headers: { 'x-client': 'a' } });
    await fetch(url, { headers: { 'x-client': 'b' } });
    await fetch(url, { headers: { 'x-client': 'a' } }); // a is now the most recent (and limited)
    await fetch(url, { headers: { 'x-client': 'c' } }); // evicts b
    expect((await fetch(url, { headers: { 'x-client': 'a' } })).status).toBe(429);
    expect((await fetch(url, { headers: { 'x-client': 'b' } })).status).toBe(204);
  });

  it('keeps memory bounded when every request brings a new key', async () => {
    const url = await limited({ limit: 1, intervalMs: 60_000, key: byClient, maxKeys: 50 });
    for (let i = 0; i < 500; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) => fetch(url, { headers: { 'x-client': `k${i + j}` } })),
      );
    }
    // The first keys were forgotten: they start afresh. The last 50 are remembered and limited.
    expect((await fetch(url, { headers: { 'x-client': 'k0' } })).status).toBe(204);
    expect((await fetch(url, { headers: { 'x-client': 'k499' } })).status).toBe(429);
  });

  it.each([
    [{ limit: 0 }, RangeError, /rateLimit: option limit/],
    [{ limit: 5, intervalMs: -1 }, RangeError, /rateLimit: option intervalMs/],
    [{ limit: 5, key: 'ip' }, TypeError, /rateLimit: option key must be a function, received "ip"/],
    [
      { limit: 5, maxKeys: 0 },
      RangeError,
      /rateLimit: option maxKeys must be an integer from 1 to 10000000, received 0/,
    ],
    [
      { limit: 5, maxWaitMs: 10 },
      TypeError,
      /rateLimit: unknown option "maxWaitMs"; expected one of limit, /,
    ],
  ])('rejects %o naming the option', (options, type, message) => {
    expect(() => rateLimit(options as never)).toThrow(type);
    expect(() => rateLimit(options as never)).toThrow(message);
  });
});
