import { startTelemetry, type Telemetry, type TelemetryOptions } from '@keel/telemetry';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';

/** A started telemetry whose spans land in memory. */
export interface TestTelemetry {
  readonly telemetry: Telemetry;
  readonly exporter: InMemorySpanExporter;
  /** Finished spans, after a flush. */
  spans(): Promise<ReadableSpan[]>;
  stop(): Promise<void>;
}

/** Starts telemetry for a test file with an in-memory exporter and a silent logger. */
export function testTelemetry(options: Partial<TelemetryOptions> = {}): TestTelemetry {
  const exporter = new InMemorySpanExporter();
  const telemetry = startTelemetry({
    serviceName: 'http-test',
    logLevel: 'silent',
    processMetrics: false,
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    ...options,
  });
  return {
    telemetry,
    exporter,
    async spans() {
      await telemetry.forceFlush();
      return exporter.getFinishedSpans();
    },
    async stop() {
      await telemetry.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
