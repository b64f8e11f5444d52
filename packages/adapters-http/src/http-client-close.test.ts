import { startTestTelemetry } from '@keel/telemetry/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { httpClient } from './http-client.js';
import { answer, testServer } from './testing/server.js';

const t = startTestTelemetry({ serviceName: 'http-client-close' });
afterAll(() => t.shutdown());

const count = (kind: 'TCPSocketWrap' | 'Timeout') =>
  process.getActiveResourcesInfo().filter((r) => r === kind).length;

describe('httpClient close', () => {
  it('leaves no socket or timer behind', async () => {
    const server = await testServer((_req, res, n) => answer(res, n === 1 ? 503 : 200, 'hello'));
    // Counted per kind: a timer of the test runner's that ends meanwhile must not hide a lingering socket.
    const before = { sockets: count('TCPSocketWrap'), timers: count('Timeout') };
    const lingering = () => count('TCPSocketWrap') > before.sockets || count('Timeout') > before.timers;
    const client = httpClient({
      name: 'closing',
      baseUrl: server.url,
      retry: { baseDelayMs: 1, maxDelayMs: 1 },
    });
    expect(await (await client.get('/')).text()).toBe('hello');
    await client.close();
    // Closed handles leave the list once libuv has run their close callbacks.
    for (let i = 0; i < 50 && lingering(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(count('TCPSocketWrap')).toBe(before.sockets);
    expect(count('Timeout')).toBeLessThanOrEqual(before.timers);
    await server.close();
  });

  it("takes its gauge series out of a started telemetry's metrics", async () => {
    const client = httpClient({ name: 'closed-gauges', baseUrl: 'http://127.0.0.1:9' });
    const gauge = /resilience_(circuit_state|retry_budget_tokens)\{pipeline="closed-gauges"/;
    expect(await t.telemetry.metricsText()).toMatch(gauge);
    await client.close();

    expect(await t.telemetry.metricsText()).not.toMatch(gauge);
  });

  it('rejects calls after close with KEEL_ERR_CANCELLED', async () => {
    const client = httpClient({ name: 'closed', baseUrl: 'http://127.0.0.1:9' });
    await client.close();
    await expect(client.get('/')).rejects.toMatchObject({ code: 'KEEL_ERR_CANCELLED' });
  });
});
