// The adapter entry point, `@keel/telemetry/adapter`: what a transport adapter (ours or a user's) is
// written against. Applications use the main entry; nothing here is needed to run a service.
import '@keel/resilience/node-check';

// What adapters' servers and consumers implement and report (the application entry holds the factories).
export type { Drainable, Readiness, ReadinessPhase, ReadinessReport } from './lifecycle/index.js';
export { checkTelemetry } from './operations/check-telemetry.js';
export type { OperationCore } from './operations/core.js';
export {
  CONNECTION_ERROR_CODES,
  isConnectionFailure,
  isDownstreamFailure,
} from './operations/downstream-failure.js';
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
export {
  answerHttpError,
  type HttpErrorBody,
  sendJson,
  type UnhandledError,
} from './operations/http-answer.js';
export {
  DEFAULT_IGNORED_PATHS,
  HTTP_INBOUND_OPTION_KEYS,
  type HttpInboundAdapter,
  type HttpInboundOptions,
  httpInbound,
} from './operations/http-inbound.js';
export { extractInbound, type Inbound, spentDeadline } from './operations/inbound.js';
export {
  ATTEMPT_HEADER,
  carriedByMessages,
  MESSAGE_HEADER_MAX_LENGTH,
  type MessageHeaders,
  messageAttempt,
  messageHeaderGetter,
  messageHeaderSetter,
} from './operations/message-headers.js';
export {
  isMalformedMessageError,
  MalformedMessageError,
  type MessageHandlingOptions,
  type MessagePolicy,
  type MessageRetryOptions,
  messagePolicy,
  retryDelayMs,
} from './operations/message-policy.js';
export {
  type MessagingDestination,
  type MessagingOperation,
  startConsumer,
  startProducer,
} from './operations/messaging.js';
export {
  type ExchangeState,
  exchangeSignal,
  exchangeState,
  trackExchange,
} from './operations/node-exchange.js';
export { Operation, type OperationEnd } from './operations/operation.js';
export {
  type GrpcStatusName,
  OUTCOME_STATUS,
  type OutcomeCode,
  type OutcomeRow,
  type OutcomeStatus,
  outcomeStatus,
} from './operations/outcome-status.js';
export {
  type DeadLetterReason,
  judgeFailure,
  type MessageScope,
  type MessageVerdict,
  processMessage,
  type ReceivedMessage,
  type SentMessage,
  sendMessage,
} from './operations/process-message.js';
export {
  GRPC_STATUS_NAMES,
  grpcStatusName,
  type RpcClientOperation,
  type RpcClientStart,
  type RpcEnd,
  type RpcMethod,
  type RpcOperation,
  type RpcServerStart,
  rpcMethodOf,
  startRpcClient,
  startRpcServer,
} from './operations/rpc.js';
export {
  BAGGAGE_HEADER,
  DEADLINE_HEADER,
  type EdgeExtraction,
  formatDeadlineHeader,
  formatGrpcTimeout,
  formatTraceparent,
  GRPC_TIMEOUT_HEADER,
  parseBaggage,
  parseDeadlineHeader,
  parseGrpcTimeout,
  parseTraceparent,
  parseTracestate,
  serializeBaggage,
  TRACEPARENT_HEADER,
  TRACESTATE_HEADER,
} from './propagation/index.js';
export { hostAllowed } from './start-telemetry.js';
