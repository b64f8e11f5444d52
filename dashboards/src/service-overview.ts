import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { keelDashboard, type Section } from './dashboard.js';
import { timeseries } from './panels.js';
import { legend, quantile, rate, ratio, SERVICE } from './promql.js';
import { datasourceVariable, serviceVariable } from './variables.js';

/** One duration histogram seen as requests: what each series stands for and how to name it. */
interface RedSource {
  /** The row title. */
  readonly title: string;
  /** The histogram's base name, without `_bucket`/`_count`. */
  readonly histogram: string;
  /** What one observation is, for the descriptions: "request", "call", "message"… */
  readonly unitName: string;
  /** The labels a series is told apart by, after `service`. */
  readonly by: readonly string[];
  /** Extra matchers, e.g. the operation type. */
  readonly matchers?: readonly string[];
  /** The Grafana unit of the rate panel. @default 'reqps' */
  readonly rateUnit?: string;
}

const capitalized = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);

const QUANTILES = [0.5, 0.95, 0.99] as const;

/**
 * Rate, error ratio and p50/p95/p99 latency of one histogram: the three RED panels. A failure is an
 * observation with `error_type` set, which Keel sets exactly when the semantic conventions call it one.
 */
function red(source: RedSource): Section {
  const by = ['service', ...source.by];
  const matchers = [SERVICE, ...(source.matchers ?? [])];
  const count = `${source.histogram}_count`;
  return {
    title: source.title,
    panels: [
      timeseries({
        title: `${capitalized(source.unitName)}s / s`,
        description: `${capitalized(source.unitName)}s per second, from \`${count}\`.`,
        unit: source.rateUnit ?? 'reqps',
        queries: [{ expr: rate(count, by, ...matchers), legend: legend(by) }],
      }),
      timeseries({
        title: 'Error ratio',
        description: `Share of ${source.unitName}s recorded with an \`error_type\` (0 when none failed).`,
        unit: 'percentunit',
        queries: [{ expr: ratio(count, by, 'error_type!=""', ...matchers), legend: legend(by) }],
      }),
      timeseries({
        title: 'Latency p50 / p95 / p99',
        description: `Quantiles of \`${source.histogram}\`. The dots are exemplars: click one to open its trace.`,
        unit: 's',
        queries: QUANTILES.map((q) => ({
          expr: quantile(q, source.histogram, by, ...matchers),
          legend: legend(by, `p${q * 100}`),
          // One query carries the exemplars, so each is drawn once.
          exemplar: q === 0.95,
        })),
      }),
    ],
  };
}

function messagingTraffic(): Section {
  const by = ['service', 'messaging_destination_name'];
  return {
    title: 'Messaging: sent and consumed',
    panels: [
      timeseries({
        title: 'Messages sent / s',
        description: 'Messages producers attempted to send, per destination (exchange).',
        unit: 'short',
        queries: [{ expr: rate('messaging_client_sent_messages_total', by, SERVICE), legend: legend(by) }],
      }),
      timeseries({
        title: 'Messages consumed / s',
        description: 'Messages delivered to consumers, per destination (queue).',
        unit: 'short',
        queries: [
          { expr: rate('messaging_client_consumed_messages_total', by, SERVICE), legend: legend(by) },
        ],
      }),
      timeseries({
        title: 'Send latency p95',
        description:
          'p95 of `messaging_client_operation_duration_seconds` for sends: the time to a broker confirm.',
        unit: 's',
        queries: [
          {
            expr: quantile(
              0.95,
              'messaging_client_operation_duration_seconds',
              by,
              SERVICE,
              'messaging_operation_type="send"',
            ),
            legend: legend(by),
            exemplar: true,
          },
        ],
      }),
    ],
  };
}

/** RED per HTTP route, RPC method (server and client), HTTP client destination and queue. */
export function serviceOverview(): Dashboard {
  return keelDashboard({
    uid: 'keel-service-overview',
    title: 'Keel / Service overview',
    description:
      'Rate, errors and duration of every Keel service, from the OpenTelemetry semantic-convention histograms.',
    variables: [datasourceVariable(), serviceVariable()],
    sections: [
      red({
        title: 'HTTP server: per route',
        histogram: 'http_server_request_duration_seconds',
        unitName: 'request',
        by: ['http_request_method', 'http_route'],
      }),
      red({
        title: 'RPC server: per method',
        histogram: 'rpc_server_call_duration_seconds',
        unitName: 'call',
        by: ['rpc_method'],
      }),
      red({
        title: 'RPC client: per method',
        histogram: 'rpc_client_call_duration_seconds',
        unitName: 'call',
        by: ['rpc_method'],
      }),
      red({
        title: 'HTTP client: per destination (one observation per attempt)',
        histogram: 'http_client_request_duration_seconds',
        unitName: 'attempt',
        by: ['server_address', 'server_port'],
      }),
      red({
        title: 'Messaging: processing per queue',
        histogram: 'messaging_process_duration_seconds',
        unitName: 'message',
        rateUnit: 'short',
        by: ['messaging_destination_name'],
      }),
      messagingTraffic(),
    ],
  });
}
