import '@keel/resilience/node-check';

export {
  startTestTelemetry,
  type TestTelemetry,
  type TestTelemetryOptions,
} from './testing/start-test-telemetry.js';
