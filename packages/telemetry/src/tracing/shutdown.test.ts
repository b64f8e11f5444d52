import { createServer, type Server, type Socket } from 'node:net';
import { context, logs, propagation, trace } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTracing } from './start-tracing.js';

const SLACK_MS = 300;

/** A collector that accepts connections and never answers. */
async function blackHole(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await listen(server);
  return {
    url: `http://127.0.0.1:${port(server)}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A loopback URL nothing listens on: bound once to get a free port, then closed. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await listen(server);
  const url = `http://127.0.0.1:${port(server)}`;
  await new Promise((resolve) => server.close(resolve));
  return url;
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
}

function port(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on TCP');
  return address.port;
}

function handleCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** Handle types with more live instances now than in `before`; vitest's own handles are in both. */
async function handlesLeftSince(before: Map<string, number>): Promise<string[]> {
  // Closing a socket finishes on a later turn of the event loop.
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  return [...handleCounts()].filter(([type, n]) => n > (before.get(type) ?? 0)).map(([type]) => type);
}

async function timed(work: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

function endSpan(): void {
  trace.getTracer('test').startActiveSpan('parent', (span) => {
    trace.getTracer('test').startSpan('child').end();
    span.end();
  });
}

beforeEach(() => {
  for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'])
    vi.stubEnv(name, '');
  for (const name of ['OTEL_EXPORTER_OTLP_TIMEOUT', 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT'])
    vi.stubEnv(name, '');
});

afterEach(() => {
  vi.unstubAllEnvs();
  trace.disable();
  context.disable();
  propagation.disable();
  logs.disable();
});

describe('Tracing.shutdown', () => {
  it('resolves quickly and leaves nothing running when the collector port is closed', async () => {
    const before = handleCounts();
    const tracing = startTracing({
      serviceName: 'down',
      otlpEndpoint: await closedPort(),
      exportTimeoutMs: 500,
    });
    endSpan();
    const elapsed = await timed(() => expect(tracing.shutdown(1500)).resolves.toBeUndefined());
    expect(elapsed).toBeLessThan(1500 + SLACK_MS);
    expect(await handlesLeftSince(before)).toEqual([]);
  });

  it('stops waiting for the NodeSDK OTEL_TRACES_EXPORTER started at its bound, without rejecting, when its collector never answers', async () => {
    const collector = await blackHole();
    vi.stubEnv('OTEL_TRACES_EXPORTER', 'otlp');
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', collector.url);
    const tracing = startTracing({ serviceName: 'env-silent' });
    endSpan();
    try {
      const elapsed = await timed(() => expect(tracing.shutdown(300)).resolves.toBeUndefined());
      expect(elapsed).toBeLessThan(300 + SLACK_MS);
    } finally {
      await collector.close();
    }
  });

  it('gives up on a collector that never answers within the export budget and leaves nothing running', async () => {
    const before = handleCounts();
    const collector = await blackHole();
    const tracing = startTracing({
      serviceName: 'silent',
      otlpEndpoint: collector.url,
      exportTimeoutMs: 500,
    });
    endSpan();
    const elapsed = await timed(() => expect(tracing.shutdown(1500)).resolves.toBeUndefined());
    await collector.close();
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(elapsed).toBeLessThan(1500 + SLACK_MS);
    expect(await handlesLeftSince(before)).toEqual([]);
  });

  it('with default timeouts, gives up on a silent collector inside the default 5 s bound', async () => {
    const before = handleCounts();
    const collector = await blackHole();
    const tracing = startTracing({ serviceName: 'silent', otlpEndpoint: collector.url });
    endSpan();
    const elapsed = await timed(() => tracing.shutdown());
    await collector.close();
    expect(elapsed).toBeLessThan(5000);
    expect(await handlesLeftSince(before)).toEqual([]);
  });

  it('takes the export budget from OTEL_EXPORTER_OTLP_TRACES_TIMEOUT over the option', async () => {
    vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', '300');
    const collector = await blackHole();
    const tracing = startTracing({
      serviceName: 'env-timeout',
      otlpEndpoint: collector.url,
      exportTimeoutMs: 3000,
    });
    endSpan();
    const elapsed = await timed(() => tracing.shutdown(4000));
    await collector.close();
    expect(elapsed).toBeLessThan(300 + SLACK_MS);
  });

  it('stops waiting at its bound when a span processor never finishes, and leaves no timer behind', async () => {
    const before = handleCounts();
    const stuck: SpanProcessor = {
      onStart() {},
      onEnd() {},
      forceFlush: () => Promise.resolve(),
      shutdown: () => new Promise(() => {}),
    };
    const tracing = startTracing({ serviceName: 'stuck', spanProcessors: [stuck] });
    endSpan();
    const elapsed = await timed(() => expect(tracing.shutdown(200)).resolves.toBeUndefined());
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(200 + SLACK_MS);
    expect(await handlesLeftSince(before)).toEqual([]);
  });

  it('is idempotent: a second call returns the first promise and shuts nothing down twice', async () => {
    let shutdowns = 0;
    const counting: SpanProcessor = {
      onStart() {},
      onEnd() {},
      forceFlush: () => Promise.resolve(),
      shutdown: async () => {
        shutdowns++;
      },
    };
    const tracing = startTracing({ serviceName: 'twice', spanProcessors: [counting] });
    const first = tracing.shutdown();
    expect(tracing.shutdown()).toBe(first);
    await first;
    await expect(tracing.shutdown(0)).resolves.toBeUndefined();
    expect(shutdowns).toBe(1);
  });

  it('keeps the local store readable after shutdown', async () => {
    const tracing = startTracing({ serviceName: 'kept' });
    endSpan();
    await tracing.shutdown();
    expect(tracing.store?.render(undefined, { color: false })).toMatch(/^└─ child\s+kept/m);
  });
});
