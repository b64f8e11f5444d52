import { afterEach, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from './start-telemetry.js';

let telemetry: Telemetry | undefined;
afterEach(async () => {
  await telemetry?.shutdown();
  telemetry = undefined;
});

describe('startTelemetry traceStore', () => {
  it('keeps the local trace store beside the OTLP exporter when traceStore is true', () => {
    telemetry = startTelemetry({
      serviceName: 'orders',
      // Nothing listens on port 9: the store must not depend on the collector being there.
      otlpEndpoint: 'http://127.0.0.1:9',
      traceStore: true,
      processMetrics: false,
      shutdownTimeoutMs: 200,
    });
    telemetry.tracer.startSpan('GET /orders/:id').end();
    const store = telemetry.traces;
    const traceId = store?.latestTraceId();
    expect(traceId).toBeDefined();
    expect(store?.spans(traceId ?? '').map((span) => span.name)).toEqual(['GET /orders/:id']);
  });

  it('has no local trace store when an OTLP endpoint is set and traceStore is left out', () => {
    telemetry = startTelemetry({
      serviceName: 'orders',
      otlpEndpoint: 'http://127.0.0.1:9',
      processMetrics: false,
      shutdownTimeoutMs: 200,
    });
    expect(telemetry.traces).toBeUndefined();
  });
});
