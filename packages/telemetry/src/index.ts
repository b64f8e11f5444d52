// The application entry point, `@keel/telemetry`. Adapter authors use `@keel/telemetry/adapter`.
import '@keel/resilience/node-check';

export { observePipeline } from './bridge/observe-pipeline.js';
export {
  type CircuitSource,
  type Closable,
  createReadiness,
  type Drainable,
  type GracefulShutdown,
  type GracefulShutdownOptions,
  gracefulShutdown,
  type HttpServerLike,
  type Readiness,
  type ReadinessCheck,
  type ReadinessDependency,
  type ReadinessOptions,
  type ReadinessPhase,
  type ReadinessReport,
  type ShutdownResult,
} from './lifecycle/index.js';
export {
  createLogger,
  DEFAULT_REDACT_PATHS,
  type LogFields,
  type LoggerOptions,
  logFields,
  type TurnDestination,
  type TurnDestinationOptions,
  turnDestination,
} from './logging/index.js';
export {
  CIRCUIT_STATES,
  createMetrics,
  DURATION_BUCKETS,
  type DurationHistogram,
  type EventCounter,
  type KeelMetrics,
  type LabelInput,
  type MetricsOptions,
  type MetricsText,
  type PipelineGaugeSource,
  type PipelineGaugeStats,
  SERIES_OVERFLOW_METRIC,
  sanitizeLabelValue,
} from './metrics/index.js';
export {
  getCorrelationId,
  isValidCorrelationId,
  KeelPropagator,
  type KeelPropagatorOptions,
  keelPropagator,
  newCorrelationId,
  runWithCorrelationId,
  setCorrelationId,
} from './propagation/index.js';
export {
  currentTelemetry,
  startTelemetry,
  type Telemetry,
  type TelemetryOptions,
} from './start-telemetry.js';
export { type RenderOptions, renderTrace, type TraceStore } from './tracing/index.js';
