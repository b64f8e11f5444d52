import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isHttpStatusError } from './errors.js';
import { type HttpClient, httpClient } from './http-client.js';
import { answer, type TestServer, testServer } from './testing/server.js';
import { type TestTelemetry, testTelemetry } from './testing/telemetry.js';

const RETRY = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

let t: TestTelemetry;
let servers: TestServer[] = [];
let clients: HttpClient[] = [];
let named = 0;

beforeAll(() => {
  t = testTelemetry();
});
afterEach(async () => {
  for (const client of clients) await client.close();
  for (const server of servers) await server.close();
  clients = [];
  servers = [];
  // Flushed first, so no span of this test arrives in the next one's.
  await t.spans();
  t.reset();
});
afterAll(async () => {
  await t.stop();
});

async function serve(respond: Parameters<typeof testServer>[0]): Promise<TestServer> {
  const server = await testServer(respond);
  servers.push(server);
  return server;
}

function client(options: Omit<Parameters<typeof httpClient>[0], 'name'>): HttpClient {
  named++;
  const made = httpClient({ name: `outcomes-${named}`, ...options });
  clients.push(made);
  return made;
}

async function scrape(): Promise<string> {
  return (await t.telemetry.metrics.metricsText()).body;
}

/** The value of the sample `name{...labels}` in the scrape, or 0 when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    if (Object.entries(labels).every(([k, v]) => inside.includes(`${k}="${v}"`))) {
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return 0;
}

describe('httpClient outcomes', () => {
  describe.each([
    [503, false],
    [503, true],
    [429, false],
    [429, true],
  ])('a final %i answer (throwOnError %s)', (status, throwOnError) => {
    it('is a failure in resilience_events_total, the attempt histogram and the breaker', async () => {
      const server = await serve((_req, res) => answer(res, status, 'busy'));
      const payments = client({
        baseUrl: server.url,
        retry: false,
        throwOnError,
        circuitBreaker: { consecutiveFailures: 1, breakDurationMs: 60_000 },
      });
      const pipeline = payments.name;
      const outcome = await payments.get('/charges').then(
        (res) => res.dump().then(() => res.status),
        (error: unknown) => error,
      );
      if (throwOnError) {
        expect(isHttpStatusError(outcome) && outcome.status === status && outcome.body === 'busy').toBe(true);
      } else expect(outcome).toBe(status);
      const text = await scrape();
      expect(sample(text, 'resilience_events_total', { pipeline, event: 'failure' })).toBe(1);
      expect(sample(text, 'resilience_events_total', { pipeline, event: 'success' })).toBe(0);
      expect(
        sample(text, 'resilience_attempt_duration_seconds_count', { pipeline, outcome: 'failure' }),
      ).toBe(1);
      expect(
        sample(text, 'resilience_attempt_duration_seconds_count', { pipeline, outcome: 'success' }),
      ).toBe(0);
      expect(payments.pipeline.circuitState).toBe('open');
    });

    it('ends the client span with an error status and error.type set to the status code', async () => {
      const server = await serve((_req, res) => answer(res, status));
      const payments = client({ baseUrl: server.url, retry: false, throwOnError });
      await payments.get('/charges').then(
        (res) => res.dump(),
        () => undefined,
      );
      const spans = (await t.spans()).filter((s) => s.kind === SpanKind.CLIENT);
      expect(spans.map((s) => [s.status.code, s.attributes['error.type']])).toEqual([
        [SpanStatusCode.ERROR, String(status)],
      ]);
    });
  });

  it('counts a 404 as a successful call: the caller asked for something that is not there', async () => {
    const server = await serve((_req, res) => answer(res, 404));
    const catalog = client({ baseUrl: server.url });
    expect((await catalog.get('/missing')).status).toBe(404);
    const text = await scrape();
    expect(sample(text, 'resilience_events_total', { pipeline: catalog.name, event: 'success' })).toBe(1);
    expect(sample(text, 'resilience_events_total', { pipeline: catalog.name, event: 'failure' })).toBe(0);
  });

  it('counts a retried 503 as a failed attempt and a retry, and the call that then succeeds as a success', async () => {
    const server = await serve((_req, res, n) => answer(res, n === 1 ? 503 : 200));
    const inventory = client({ baseUrl: server.url, retry: RETRY });
    expect((await inventory.get('/items')).status).toBe(200);
    const pipeline = inventory.name;
    const text = await scrape();
    expect(sample(text, 'resilience_events_total', { pipeline, event: 'retry' })).toBe(1);
    expect(sample(text, 'resilience_events_total', { pipeline, event: 'success' })).toBe(1);
    expect(sample(text, 'resilience_attempt_duration_seconds_count', { pipeline, outcome: 'failure' })).toBe(
      1,
    );
    expect(sample(text, 'resilience_attempt_duration_seconds_count', { pipeline, outcome: 'success' })).toBe(
      1,
    );
  });

  it('returns the last 503 once retries are spent, its body still readable', async () => {
    const server = await serve((_req, res, n) => answer(res, 503, `attempt ${n}`));
    const inventory = client({ baseUrl: server.url, retry: RETRY });
    const res = await inventory.get('/items');
    expect([res.status, res.attempt, await res.text()]).toEqual([503, 3, 'attempt 3']);
  });

  it('hands a retryOn and failureOn of yours the failed response as a result, as for any other status', async () => {
    const server = await serve((_req, res, n) => answer(res, n === 1 ? 503 : 200));
    const seen: unknown[] = [];
    const inventory = client({
      baseUrl: server.url,
      retry: {
        ...RETRY,
        retryOn: (outcome) => {
          seen.push(outcome.ok ? (outcome.result as { status: number }).status : 'error');
          return outcome.ok && (outcome.result as { status: number }).status === 503;
        },
      },
      circuitBreaker: { failureOn: (outcome) => !outcome.ok },
    });
    expect((await inventory.get('/items')).status).toBe(200);
    expect(seen).toEqual([503, 200]);
  });

  it('answers a final 503 with the fallback, which is told the status', async () => {
    const server = await serve((_req, res) => answer(res, 503));
    const cached = { status: 200, ok: true } as never;
    const statuses: number[] = [];
    const inventory = client({
      baseUrl: server.url,
      retry: false,
      fallback: (error) => {
        if (isHttpStatusError(error)) statuses.push(error.status);
        return cached;
      },
    });
    expect(await inventory.get('/items')).toBe(cached);
    expect(statuses).toEqual([503]);
  });
});

describe('http_client_request_duration_seconds', () => {
  it('keeps one series per service when several listen on one host, told apart by server_port', async () => {
    const ports: string[] = [];
    for (let i = 0; i < 3; i++) {
      const server = await serve((_req, res) => answer(res, 200));
      ports.push(new URL(server.url).port);
      await (await client({ baseUrl: server.url }).get('/')).dump();
    }
    const text = await scrape();
    for (const port of ports) {
      expect(
        sample(text, 'http_client_request_duration_seconds_count', {
          server_address: '127.0.0.1',
          server_port: port,
        }),
      ).toBe(1);
    }
  });
});
