import './node-check.js';

export {
  type AdaptiveLimitOptions,
  type BulkheadOptions,
  type BulkheadPolicy,
  bulkhead,
} from './bulkhead.js';
export { type ChaosOptions, type ChaosPolicy, chaos } from './chaos.js';
export {
  type CircuitBreakerOptions,
  type CircuitBreakerPolicy,
  type CircuitState,
  circuitBreaker,
} from './circuit-breaker.js';
export { type ComposedPolicy, compose } from './compose.js';
export { ConfigError, type ConfigIssue, isConfigError } from './config-error.js';
export { getDeadline, msUntil, remainingMs, runWithDeadline, setDeadline } from './deadline.js';
export {
  BulkheadFullError,
  CancelledError,
  CircuitOpenError,
  isBulkheadFullError,
  isCancelledError,
  isCircuitOpenError,
  isKeelError,
  isLocalRejection,
  isRateLimitedError,
  isTimeoutError,
  KeelError,
  type KeelErrorCode,
  RateLimitedError,
  TimeoutError,
} from './errors.js';
export type {
  AttemptEvent,
  BreakEvent,
  BudgetExhaustedEvent,
  ChaosEvent,
  CircuitEvent,
  Disposer,
  FailureEvent,
  FallbackEvent,
  GiveUpEvent,
  HedgeEvent,
  HedgeWonEvent,
  LimitEvent,
  PolicyName,
  QueuedEvent,
  RejectEvent,
  ResilienceEvent,
  ResilienceEventKind,
  ResilienceEventOf,
  ResilienceListener,
  RetryEvent,
  SuccessEvent,
  TimeoutEvent,
} from './events.js';
export { type FallbackPolicy, type FallbackValue, fallback } from './fallback.js';
export {
  type HedgeDelayOptions,
  type HedgeOptions,
  type HedgePolicy,
  hedge,
} from './hedge.js';
export type { ExecuteContext } from './internal/scope.js';
export {
  type KeyedCircuitBreakerOptions,
  type KeyedCircuitBreakerPolicy,
  keyedCircuitBreaker,
} from './keyed-circuit-breaker.js';
export {
  type CircuitKeyStats,
  type ExecuteOptions,
  type Pipeline,
  type PipelineOptions,
  type PipelineStats,
  pipeline,
} from './pipeline.js';
export {
  type ConfiguredPipelines,
  type PipelinesFromConfigOptions,
  pipelinesFromConfig,
  pipelinesSchema,
  validatePipelinesConfig,
} from './pipelines-from-config.js';
export { isPolicy, type Next, type Policy } from './policy.js';
export { type RateLimitOptions, type RateLimitPolicy, rateLimit } from './rate-limit.js';
export { isRetryableByDefault, type Outcome, type RetryOptions, type RetryPolicy, retry } from './retry.js';
export { type RetryBudget, type RetryBudgetOptions, retryBudget } from './retry-budget.js';
export { type TimeoutPolicy, timeout, totalTimeout } from './timeout.js';
