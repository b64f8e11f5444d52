import { Writable } from 'node:stream';
import { pipeline } from '@keel/resilience';
import { context, defaultTextMapGetter, defaultTextMapSetter, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHttpServer } from './operations/http.js';
import { getCorrelationId } from './propagation/correlation.js';
import { hostAllowed, startTelemetry, type Telemetry, type TelemetryOptions } from './start-telemetry.js';

const lines: Record<string, unknown>[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
    done();
  },
});
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
const options: TelemetryOptions = {
  serviceName: 'orders',
  logger: pino({ level: 'debug' }, sink),
  spanProcessors: [new SimpleSpanProcessor({ exporter })],
};

beforeAll(() => {
  telemetry = startTelemetry(options);
});

afterAll(async () => {
  await telemetry.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('startTelemetry', () => {
  it('returns the same handle when called again with the same options', () => {
    expect(startTelemetry({ ...options, spanProcessors: [...(options.spanProcessors ?? [])] })).toBe(
      telemetry,
    );
  });

  it('refuses a second start with other options, naming them, instead of returning the first handle', () => {
    expect(() => startTelemetry({ ...options, serviceName: 'other', logLevel: 'warn' })).toThrow(
      'startTelemetry: telemetry is already started with other options (serviceName, logLevel differ)',
    );
  });

  it('rejects an unknown option with a TypeError naming it, even once started', () => {
    const typo = { ...options, serviceVersoin: '1.0.0' } as TelemetryOptions;
    expect(() => startTelemetry(typo)).toThrow(TypeError);
    expect(() => startTelemetry(typo)).toThrow(
      'startTelemetry: unknown option "serviceVersoin"; expected one of',
    );
  });

  it('refuses spanProcessors with a TypeError naming OTEL_TRACES_EXPORTER when that variable selects exporters', () => {
    vi.stubEnv('OTEL_TRACES_EXPORTER', 'console');
    try {
      expect(() => startTelemetry(options)).toThrow(TypeError);
      expect(() => startTelemetry(options)).toThrow(
        'startTelemetry: option spanProcessors cannot be combined with OTEL_TRACES_EXPORTER="console"',
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('counts dropped inbound context by header and reason in /metrics, without a log line per request', async () => {
    const before = lines.length;
    for (let i = 0; i < 3; i++) {
      startHttpServer(telemetry, {
        carrier: { traceparent: 'garbage', 'x-correlation-id': 'bad id' },
        getter: defaultTextMapGetter,
        method: 'GET',
      });
    }
    const text = await telemetry.metricsText();
    expect(text).toContain('keel_inbound_context_dropped_total{header="traceparent",reason="invalid"} 3');
    expect(text).toContain(
      'keel_inbound_context_dropped_total{header="x-correlation-id",reason="invalid"} 3',
    );
    expect(lines.length).toBe(before);
  });

  it('installs the Keel propagator globally, so correlation IDs cross hops through the plain API', () => {
    const ctx = propagation.extract(context.active(), { 'x-correlation-id': 'corr-9' }, defaultTextMapGetter);
    const out: Record<string, string> = {};
    propagation.inject(ctx, out, defaultTextMapSetter);
    expect(getCorrelationId(ctx)).toBe('corr-9');
    expect(out['x-correlation-id']).toBe('corr-9');
  });

  it('shows a request, its retries and its log lines on one trace, in metrics and in the local viewer', async () => {
    const downstream = pipeline('inventory-e2e', {
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
    });
    const op = startHttpServer(telemetry, { carrier: {}, getter: defaultTextMapGetter, method: 'GET' });
    let calls = 0;
    const answer = await op.run(async () => {
      telemetry.logger.info('looking up stock');
      return downstream.execute(async () => {
        if (++calls === 1) throw new Error('503 from inventory');
        return 'in stock';
      });
    });
    op.end({ route: '/stock/:sku', statusCode: 200 });
    expect(answer).toBe('in stock');
    await telemetry.forceFlush(); // the simple processor waits for the resource detectors before exporting

    const server = exporter.getFinishedSpans().find((s) => s.name === 'GET /stock/:sku');
    expect(server?.events.map((e) => e.name)).toContain('retry');
    const traceId = server!.spanContext().traceId;

    const log = lines.find((l) => l.msg === 'looking up stock');
    expect(log).toMatchObject({ trace_id: traceId, correlation_id: op.correlationId, service: 'orders' });

    const metrics = await telemetry.metricsText();
    expect(metrics).toMatch(
      /resilience_events_total\{pipeline="inventory-e2e",policy="retry",event="retry"\} 1/,
    );
    expect(metrics).toMatch(/http_server_request_duration_seconds_count\{[^}]*http_route="\/stock\/:sku"/);

    const picture = telemetry.traces?.render(traceId) ?? '';
    expect(picture).toContain('GET /stock/:sku');
    expect(picture).toContain('retry');
    downstream.dispose();
  });

  it('serves OpenMetrics with trace exemplars when the scraper asks for it', async () => {
    const { contentType, body } = await telemetry.scrape('application/openmetrics-text; version=1.0.0');
    expect(contentType).toContain('application/openmetrics-text');
    expect(body).toMatch(/# \{trace_id="[0-9a-f]{32}"\}/);
    expect(body.trimEnd().endsWith('# EOF')).toBe(true);
  });
});

describe('hostAllowed', () => {
  it.each([
    ['inventory', ['inventory'], true],
    ['api.example.com', ['*.example.com'], true],
    ['example.com', ['*.example.com'], false],
    ['evil.com', ['inventory'], false],
    ['anything', undefined, true],
  ] as const)('%s against %j is %s', (host, list, expected) => {
    expect(hostAllowed(host, list)).toBe(expected);
  });
});
