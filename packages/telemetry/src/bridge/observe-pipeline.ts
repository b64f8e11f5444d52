import type { Disposer, Pipeline, ResilienceEvent } from '@keel/resilience';
import { type Attributes, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { KeelMetrics } from '../metrics/index.js';
import { errorMessage, errorType } from '../operations/error-type.js';

type Level = 'debug' | 'info' | 'warn' | 'error';

/** At most one retry line at info per pipeline in this interval. */
const RETRY_INFO_INTERVAL_MS = 1_000;

// What an operator wants to hear about: an opened circuit or a drained budget is news, a retry is detail
// (but see `retryLevel`).
const LOG_LEVEL: Partial<Record<ResilienceEvent['kind'], Level>> = {
  retry: 'debug',
  'give-up': 'info',
  'budget-exhausted': 'warn',
  timeout: 'info',
  break: 'warn',
  'half-open': 'info',
  reset: 'info',
  isolate: 'warn',
  reject: 'debug',
  fallback: 'info',
};

// Span events read as the decision: `retry`, `timeout`, `circuit.break`, `bulkhead.reject`…
function spanEventName(event: ResilienceEvent): string {
  if (event.policy === 'circuit-breaker') return `circuit.${event.kind}`;
  if (event.kind === 'reject' || event.kind === 'queued') return `${event.policy}.${event.kind}`;
  return event.kind;
}

function attributesOf(event: ResilienceEvent): Attributes {
  const attributes: Attributes = {
    'keel.pipeline': event.pipeline,
    'keel.policy': event.policy,
    'keel.attempt': event.attempt,
  };
  if (event.delayMs !== undefined) attributes['keel.delay_ms'] = Math.round(event.delayMs);
  if (event.error !== undefined) {
    attributes['error.type'] = errorType(event.error);
    attributes['exception.message'] = errorMessage(event.error);
  }
  return attributes;
}

/**
 * Turns a pipeline's events into `resilience_*` metrics, events on the active span and log lines, and
 * exports its gauges. Returns the disposer that undoes all of it.
 */
export function observePipeline(pipeline: Pipeline, metrics: KeelMetrics, logger: Logger): Disposer {
  // Held weakly, like the subscription (which lives on the pipeline's own emitter): a pipeline dropped
  // without dispose() is collected, and its gauge series go with it.
  const removeGauges = metrics.addPipelineGauges(pipeline, { weakly: true });
  // A dependency that needs retries is news at the default level, but one line per retried call would
  // flood it: the first retry of a call is logged at info at most once a second per pipeline, and the
  // first retries logged at debug meanwhile are counted in that line (`retries_at_debug`).
  let infoAt = Number.NEGATIVE_INFINITY;
  let atDebug = 0;
  const retryLevel = (event: ResilienceEvent): Level => {
    if (event.attempt !== 1) return 'debug';
    const t = performance.now();
    if (t - infoAt < RETRY_INFO_INTERVAL_MS || !logger.isLevelEnabled('info')) {
      atDebug++;
      return 'debug';
    }
    infoAt = t;
    return 'info';
  };
  const unsubscribe = pipeline.onEvent((event) => {
    const span = trace.getActiveSpan();
    if (event.kind === 'attempt') {
      metrics.resilienceAttemptDuration.record(
        { pipeline: event.pipeline, outcome: event.error === undefined ? 'success' : 'failure' },
        event.durationS,
      );
      return;
    }
    metrics.resilienceEvents.increment({ pipeline: event.pipeline, policy: event.policy, event: event.kind });
    if (event.kind === 'success' || event.kind === 'failure') return;
    span?.addEvent(spanEventName(event), attributesOf(event));
    const level = event.kind === 'retry' ? retryLevel(event) : LOG_LEVEL[event.kind];
    if (level !== undefined && logger.isLevelEnabled(level)) {
      let shown: Record<string, number> | undefined;
      if (level === 'info' && event.kind === 'retry') {
        shown = { retries_at_debug: atDebug };
        atDebug = 0;
      }
      logger[level](
        {
          pipeline: event.pipeline,
          policy: event.policy,
          event: event.kind,
          attempt: event.attempt,
          ...(event.delayMs === undefined ? {} : { delay_ms: Math.round(event.delayMs) }),
          ...shown,
          ...(event.error === undefined
            ? {}
            : { error_type: errorType(event.error), err_message: errorMessage(event.error) }),
        },
        `resilience ${event.policy} ${event.kind}`,
      );
    }
  });
  return () => {
    unsubscribe();
    removeGauges();
  };
}
