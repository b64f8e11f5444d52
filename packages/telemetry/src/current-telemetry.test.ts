import { context, defaultTextMapGetter, defaultTextMapSetter, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpClient, startHttpServer } from './operations/http.js';
import { currentTelemetry, startTelemetry } from './start-telemetry.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

afterEach(() => {
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('currentTelemetry', () => {
  it('works without startTelemetry: carries the inbound trace and correlation ID through to the next hop', () => {
    const telemetry = currentTelemetry();
    const op = startHttpServer(telemetry, {
      carrier: { traceparent: TRACEPARENT, 'x-correlation-id': 'req-42' },
      getter: defaultTextMapGetter,
      method: 'GET',
      accessLog: false,
    });
    const outbound: Record<string, string> = {};
    op.run(() =>
      startHttpClient(telemetry, {
        carrier: outbound,
        setter: defaultTextMapSetter,
        method: 'GET',
        url: new URL('http://b.internal/x'),
      }).end({ statusCode: 200 }),
    );
    op.end({ route: '/x', statusCode: 200 });
    expect(op.correlationId).toBe('req-42');
    // No SDK: no new span, so the caller's trace and parent travel on unchanged.
    expect(outbound.traceparent).toBe(TRACEPARENT);
    expect(outbound['x-correlation-id']).toBe('req-42');
  });

  it('counts into its own registry even without startTelemetry', async () => {
    const telemetry = currentTelemetry();
    startHttpServer(telemetry, {
      carrier: {},
      getter: defaultTextMapGetter,
      method: 'GET',
      accessLog: false,
    }).end({ route: '/counted', statusCode: 204 });
    expect(await telemetry.metricsText()).toMatch(
      /http_server_request_duration_seconds_count\{[^}]*http_route="\/counted"/,
    );
  });

  it('returns the started handle once startTelemetry has run, and the detached one again after shutdown', async () => {
    const detached = currentTelemetry();
    const started = startTelemetry({
      serviceName: 'orders',
      logger: pino({ level: 'silent' }),
      spanProcessors: [new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() })],
    });
    expect(currentTelemetry()).toBe(started);
    expect(started).not.toBe(detached);
    await started.shutdown();
    expect(currentTelemetry()).toBe(detached);
  });
});
