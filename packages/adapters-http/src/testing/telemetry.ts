import type { TelemetryOptions } from '@keel/telemetry';
import { type TestTelemetry as Started, startTestTelemetry } from '@keel/telemetry/testing';

/** A started telemetry whose spans land in memory, with a silent logger. */
export interface TestTelemetry extends Started {
  stop(): Promise<void>;
}

/** Starts telemetry for a test file with an in-memory exporter and a silent logger. */
export function testTelemetry(options: Partial<Omit<TelemetryOptions, 'logger'>> = {}): TestTelemetry {
  const started = startTestTelemetry({ serviceName: 'http-test', logLevel: 'silent', ...options });
  return { ...started, stop: () => started.shutdown() };
}
