export type {
  HttpClientLabel,
  HttpServerLabel,
  MessagingLabel,
  ResilienceAttemptLabel,
  ResilienceEventLabel,
  RpcLabel,
} from './catalog.js';
export {
  createMetrics,
  type KeelMetrics,
  type MetricsOptions,
  type MetricsText,
  SERIES_OVERFLOW_METRIC,
} from './create-metrics.js';
export { DURATION_BUCKETS, type DurationHistogram } from './duration-histogram.js';
export type { EventCounter } from './event-counter.js';
export { MAX_LABEL_VALUE_LENGTH, OVERFLOW_LABEL_VALUE, sanitizeLabelValue } from './label-value.js';
export { CIRCUIT_STATES, type PipelineGaugeSource, type PipelineGaugeStats } from './pipeline-gauges.js';
export type { LabelInput } from './series-guard.js';
