import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTelemetry, type Telemetry } from './start-telemetry.js';

let telemetry: Telemetry | undefined;
let server: Server | undefined;

afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
  server?.closeAllConnections();
  server?.close();
  server = undefined;
  vi.unstubAllEnvs();
});

/** An OTLP/HTTP endpoint on loopback that answers every export with `status`. */
async function collector(status: number): Promise<string> {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(status).end());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port nothing listens on: bound, then released. */
async function refusingEndpoint(): Promise<string> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `http://127.0.0.1:${port}`;
}

function start(otlpEndpoint: string): Record<string, unknown>[] {
  // A short export budget, so a refused connection is given up on quickly.
  vi.stubEnv('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT', '300');
  const records: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      records.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  telemetry = startTelemetry({
    serviceName: 'orders',
    otlpEndpoint,
    processMetrics: false,
    logger: pino({ level: 'info' }, sink),
    shutdownTimeoutMs: 1000,
  });
  return records;
}

async function exportOneSpan(t: Telemetry): Promise<void> {
  t.tracer.startSpan('GET /orders/:id').end();
  await t.forceFlush();
}

describe('failed span exports', () => {
  it.each([
    ['answers 500', () => collector(500)],
    ['refuses the connection', refusingEndpoint],
  ])('are counted and logged once per interval when the collector %s', async (_, endpoint) => {
    const records = start(await endpoint());
    const t = telemetry as Telemetry;
    await exportOneSpan(t);
    await exportOneSpan(t);
    expect(await t.metricsText()).toContain('keel_telemetry_export_failures_total{signal="traces"} 2');
    const warnings = records.filter((r) => r.level === 40);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      msg: expect.stringContaining('span export failed'),
      failures_unlogged: 0,
    });
  });

  it('are not counted when the collector accepts the spans', async () => {
    const records = start(await collector(200));
    const t = telemetry as Telemetry;
    await exportOneSpan(t);
    expect(await t.metricsText()).not.toMatch(/^keel_telemetry_export_failures_total\{/m);
    expect(records.filter((r) => r.level === 40)).toEqual([]);
  });
});
