export { observePipeline } from './bridge/observe-pipeline.js';
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
export { bindPrototype } from './operations/bind-emitter.js';
export type { OperationCore } from './operations/core.js';
export { errorMessage, errorType } from './operations/error-type.js';
export {
  type HttpClientOperation,
  type HttpClientStart,
  type HttpServerEnd,
  type HttpServerOperation,
  type HttpServerStart,
  normalizeMethod,
  startHttpClient,
  startHttpServer,
} from './operations/http.js';
export { extractInbound, type Inbound, spentDeadline } from './operations/inbound.js';
export {
  type MessagingDestination,
  type MessagingOperation,
  startConsumer,
  startProducer,
} from './operations/messaging.js';
export { type ExchangeState, exchangeSignal, trackExchange } from './operations/node-exchange.js';
export { Operation, type OperationEnd } from './operations/operation.js';
export {
  type GrpcStatusName,
  OUTCOME_STATUS,
  type OutcomeStatus,
  outcomeStatus,
} from './operations/outcome-status.js';
export { type RpcMethod, type RpcOperation, startRpcClient, startRpcServer } from './operations/rpc.js';
export {
  BAGGAGE_HEADER,
  DEADLINE_HEADER,
  type EdgeExtraction,
  formatDeadlineHeader,
  formatGrpcTimeout,
  formatTraceparent,
  GRPC_TIMEOUT_HEADER,
  getCorrelationId,
  isValidCorrelationId,
  KeelPropagator,
  type KeelPropagatorOptions,
  keelPropagator,
  newCorrelationId,
  parseBaggage,
  parseDeadlineHeader,
  parseGrpcTimeout,
  parseTraceparent,
  parseTracestate,
  runWithCorrelationId,
  serializeBaggage,
  setCorrelationId,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
} from './propagation/index.js';
export {
  currentTelemetry,
  hostAllowed,
  startTelemetry,
  type Telemetry,
  type TelemetryOptions,
} from './start-telemetry.js';
export { type RenderOptions, renderTrace, type TraceStore } from './tracing/index.js';
