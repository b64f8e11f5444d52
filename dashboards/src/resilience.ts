import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { keelDashboard, type Section } from './dashboard.js';
import { stateTimeline, timeseries } from './panels.js';
import { gauge, legend, PIPELINE, quantile, rate, SERVICE, select } from './promql.js';
import { datasourceVariable, pipelineVariable, serviceVariable } from './variables.js';

const BY = ['service', 'pipeline'];
const EVENTS = 'resilience_events_total';
const ATTEMPTS = 'resilience_attempt_duration_seconds';

// `resilience_circuit_state` is one 0/1 series per state; the timeline wants one number per pipeline.
const CIRCUIT_STATES = [
  { value: 0, text: 'closed', color: 'green' },
  { value: 1, text: 'half-open', color: 'yellow' },
  { value: 2, text: 'open', color: 'red' },
  { value: 3, text: 'isolated', color: 'purple' },
] as const;

function circuitStateValue(): string {
  return CIRCUIT_STATES.filter((state) => state.value > 0)
    .map((state) => {
      const series = `max by (service, pipeline) (${select('resilience_circuit_state', SERVICE, PIPELINE, `state="${state.text}"`)})`;
      return state.value === 1 ? series : `${state.value} * ${series}`;
    })
    .join(' + ');
}

function breakers(): Section {
  return {
    title: 'Circuit breakers',
    panels: [
      stateTimeline({
        title: 'Breaker state',
        description:
          'State of each pipeline with a circuit breaker, from `resilience_circuit_state` (closed, half-open, open, isolated).',
        query: { expr: circuitStateValue(), legend: legend(BY) },
        states: CIRCUIT_STATES,
      }),
    ],
  };
}

function retries(): Section {
  const attempts = rate(`${ATTEMPTS}_count`, BY, SERVICE, PIPELINE);
  const retried = rate(EVENTS, BY, SERVICE, PIPELINE, 'event="retry"');
  return {
    title: 'Retries',
    panels: [
      timeseries({
        title: 'First attempts vs retries / s',
        description:
          'Attempts that were not retries (every attempt less the retries), and retries. The gap is the load retries add.',
        unit: 'ops',
        queries: [
          {
            expr: `clamp_min(${attempts} - (${retried} or ${attempts} * 0), 0)`,
            legend: legend(BY, 'first attempts'),
          },
          { expr: retried, legend: legend(BY, 'retries') },
        ],
      }),
      timeseries({
        title: 'Budget-exhausted retries / s',
        description: 'Retries the retry budget refused: the dependency was failing too much to retry it.',
        unit: 'ops',
        queries: [
          { expr: rate(EVENTS, BY, SERVICE, PIPELINE, 'event="budget-exhausted"'), legend: legend(BY) },
        ],
      }),
      timeseries({
        title: 'Retry budget tokens',
        description: 'Tokens left in each retry budget; a retry spends one, successful calls refill it.',
        unit: 'short',
        queries: [
          { expr: gauge('resilience_retry_budget_tokens', BY, SERVICE, PIPELINE), legend: legend(BY) },
        ],
      }),
    ],
  };
}

function refusals(): Section {
  const byPolicy = [...BY, 'policy'];
  return {
    title: 'Rejections, timeouts and outcomes',
    panels: [
      timeseries({
        title: 'Rejections by reason / s',
        description:
          'Calls refused by a policy (circuit open, bulkhead full, rate limit), and requests the inbound rate limit answered 429.',
        unit: 'ops',
        queries: [
          { expr: rate(EVENTS, byPolicy, SERVICE, PIPELINE, 'event="reject"'), legend: legend(byPolicy) },
          {
            expr: rate(
              'http_server_request_duration_seconds_count',
              ['service', 'http_route'],
              SERVICE,
              'http_response_status_code="429"',
            ),
            legend: legend(['service', 'http_route'], '429 rate-limited'),
          },
        ],
      }),
      timeseries({
        title: 'Timeouts / s',
        description:
          'Timeouts by policy: an attempt (`timeout`), the whole call (`total-timeout`) or the inherited deadline (`pipeline`).',
        unit: 'ops',
        queries: [
          { expr: rate(EVENTS, byPolicy, SERVICE, PIPELINE, 'event="timeout"'), legend: legend(byPolicy) },
        ],
      }),
      timeseries({
        title: 'Call outcomes / s',
        description: 'Calls through each pipeline that succeeded or failed, after every policy had its say.',
        unit: 'ops',
        queries: [
          {
            expr: rate(EVENTS, [...BY, 'event'], SERVICE, PIPELINE, 'policy="pipeline"'),
            legend: legend([...BY, 'event']),
          },
        ],
      }),
    ],
  };
}

function bulkheadsAndAttempts(): Section {
  const byOutcome = [...BY, 'outcome'];
  return {
    title: 'Bulkheads and attempts',
    panels: [
      timeseries({
        title: 'Bulkhead in flight and queued',
        description: 'Calls executing inside each bulkhead, and calls waiting in its queue.',
        unit: 'short',
        queries: [
          {
            expr: gauge('resilience_bulkhead_in_flight', BY, SERVICE, PIPELINE),
            legend: legend(BY, 'in flight'),
          },
          { expr: gauge('resilience_bulkhead_queued', BY, SERVICE, PIPELINE), legend: legend(BY, 'queued') },
        ],
      }),
      timeseries({
        title: 'Attempts by outcome / s',
        description: 'Physical attempts each pipeline made, successful or failed.',
        unit: 'ops',
        queries: [
          { expr: rate(`${ATTEMPTS}_count`, byOutcome, SERVICE, PIPELINE), legend: legend(byOutcome) },
        ],
      }),
      timeseries({
        title: 'Attempt duration p50 / p95 by outcome',
        description:
          'Quantiles of `resilience_attempt_duration_seconds`: how long successful and failed attempts take.',
        unit: 's',
        queries: [0.5, 0.95].map((q) => ({
          expr: quantile(q, ATTEMPTS, byOutcome, SERVICE, PIPELINE),
          legend: legend(byOutcome, `p${q * 100}`),
        })),
      }),
    ],
  };
}

/** Breakers, retries and their budget, rejections, timeouts, bulkheads and attempts, per pipeline. */
export function resilience(): Dashboard {
  return keelDashboard({
    uid: 'keel-resilience',
    title: 'Keel / Resilience',
    description:
      "What each @keel/resilience pipeline decided, from the resilience_* metrics Keel's bridge exports.",
    variables: [datasourceVariable(), serviceVariable(), pipelineVariable()],
    sections: [breakers(), retries(), refusals(), bulkheadsAndAttempts()],
  });
}
