import type { Disposer, Pipeline, PolicyName, ResilienceEvent } from '@keel/resilience';
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
  hedge: 'debug',
  'hedge-won': 'debug',
  chaos: 'debug',
  // Rate-limited at the source (a material change, at most once a second per bulkhead).
  limit: 'info',
};

// The decisions each policy can report: their `resilience_events_total` series are made at 0 when a
// pipeline is observed, so the first retry, break or rejection shows in `rate()`/`increase()` (Prometheus
// sees a series born at 1 as no increase at all) and a dashboard panel has a series before anything went
// wrong. `pipeline` is the call as a whole, present in every pipeline.
const POLICY_EVENTS: Readonly<Record<PolicyName, readonly ResilienceEvent['kind'][]>> = {
  pipeline: ['success', 'failure', 'timeout'],
  'rate-limit': ['reject'],
  'total-timeout': ['timeout'],
  retry: ['retry', 'give-up', 'budget-exhausted'],
  'circuit-breaker': ['break', 'half-open', 'reset', 'isolate', 'reject'],
  // Its keys' breakers report as `circuit-breaker`.
  'keyed-circuit-breaker': [],
  // `limit` too when the bulkhead is adaptive (see countEvents).
  bulkhead: ['reject', 'queued'],
  timeout: ['timeout'],
  fallback: ['fallback'],
  hedge: ['hedge', 'hedge-won', 'budget-exhausted'],
  chaos: ['chaos'],
};

// Span events read as the decision: `retry`, `timeout`, `circuit.break`, `bulkhead.reject`…
function spanEventName(event: ResilienceEvent): string {
  if (event.policy === 'circuit-breaker') return `circuit.${event.kind}`;
  if (event.kind === 'reject' || event.kind === 'queued' || event.kind === 'limit')
    return `${event.policy}.${event.kind}`;
  return event.kind;
}

function attributesOf(event: ResilienceEvent): Attributes {
  const attributes: Attributes = {
    'keel.pipeline': event.pipeline,
    'keel.policy': event.policy,
    'keel.attempt': event.attempt,
  };
  if (event.delayMs !== undefined) attributes['keel.delay_ms'] = Math.round(event.delayMs);
  if (event.kind === 'chaos') attributes['keel.chaos.fault'] = event.fault;
  if (event.kind === 'break') attributes['keel.circuit.reason'] = event.reason;
  if (event.policy === 'circuit-breaker' && event.key !== undefined)
    attributes['keel.circuit.key'] = event.key;
  if (event.kind === 'limit') {
    attributes['keel.bulkhead.limit'] = event.limit;
    attributes['keel.bulkhead.previous_limit'] = event.previousLimit;
  }
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
  const removeCounts = countEvents(pipeline, metrics);
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
    removeCounts.seen(event);
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
          ...(event.kind === 'break' ? { reason: event.reason } : {}),
          ...(event.policy === 'circuit-breaker' && event.key !== undefined ? { key: event.key } : {}),
          ...(event.kind === 'limit' ? { limit: event.limit, previous_limit: event.previousLimit } : {}),
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
    removeCounts();
  };
}

type Counted = { policy: PolicyName; event: ResilienceEvent['kind'] };

// A pipeline collected without dispose() (held weakly, like its gauges) takes its event series with it.
const collected = new FinalizationRegistry<() => void>((remove) => remove());

// Per registry, which observation owns a pipeline name's series: a pipeline dropped without dispose() may
// be collected after a new one took its name, and must not remove the series the new one now records.
const owners = new WeakMap<KeelMetrics['resilienceEvents'], Map<string, object>>();

/**
 * Makes the pipeline's event series at 0 and returns what removes every series of it (its events, those
 * made here and any other it recorded, and its attempt durations), called on dispose or once the pipeline
 * is collected. Its place under the series
 * cap is freed with it, so pipelines made and disposed over and over do not fill the cap.
 */
function countEvents(
  pipeline: Pipeline,
  metrics: KeelMetrics,
): (() => void) & { seen(event: ResilienceEvent): void } {
  const name = pipeline.name;
  const counted: Counted[] = [];
  // policy → events with a series: a lookup per event, no string built on the hot path.
  const known = new Map<PolicyName, Set<ResilienceEvent['kind']>>();
  const add = (policy: PolicyName, event: ResilienceEvent['kind']): void => {
    let events = known.get(policy);
    if (events === undefined) {
      events = new Set();
      known.set(policy, events);
    }
    if (events.has(event)) return;
    events.add(event);
    counted.push({ policy, event });
  };
  const policies = new Set<PolicyName>([
    'pipeline',
    ...pipeline.policies.map((p) => (p.name === 'keyed-circuit-breaker' ? 'circuit-breaker' : p.name)),
  ]);
  for (const policy of policies) {
    for (const event of POLICY_EVENTS[policy]) {
      add(policy, event);
      metrics.resilienceEvents.initialize({ pipeline: name, policy, event });
    }
  }
  if (pipeline.stats.concurrencyLimit !== undefined) {
    add('bulkhead', 'limit');
    metrics.resilienceEvents.initialize({ pipeline: name, policy: 'bulkhead', event: 'limit' });
  }
  const token = {};
  let owned = owners.get(metrics.resilienceEvents);
  if (owned === undefined) {
    owned = new Map();
    owners.set(metrics.resilienceEvents, owned);
  }
  owned.set(name, token);
  // Holds `counted` and `metrics`, never the pipeline.
  const removeAll = (): void => {
    if (owned.get(name) !== token) return;
    owned.delete(name);
    for (const { policy, event } of counted)
      metrics.resilienceEvents.remove({ pipeline: name, policy, event });
    for (const outcome of ['success', 'failure'])
      metrics.resilienceAttemptDuration.remove({ pipeline: name, outcome });
  };
  collected.register(pipeline, removeAll, token);
  const remove = (() => {
    collected.unregister(token);
    removeAll();
  }) as (() => void) & { seen(event: ResilienceEvent): void };
  remove.seen = (event) => {
    if (known.get(event.policy)?.has(event.kind) !== true) add(event.policy, event.kind);
  };
  return remove;
}
