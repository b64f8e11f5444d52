// The end-of-run summary, as data (for --summary-json and the test) and as text.
import { renderTrace } from '@keel/telemetry';
import type { Phase, SpanRecord } from '../protocol.js';
import type { RouteStats } from './load.js';
import { PHASES } from './phases.js';
import {
  gatewayOrders,
  type MessageCounts,
  messageCounts,
  paymentCalls,
  paymentsEvents,
  paymentsReceived,
  SUBSCRIBERS,
} from './readings.js';
import type { Snapshot } from './scrape.js';
import type { Style } from './style.js';
import { toReadableSpan } from './traces.js';

/** One stretch of the run spent in one phase, between the scrapes at its two ends. */
export interface Interval {
  readonly phase: Phase;
  readonly start: Snapshot;
  end: Snapshot;
}

export interface PhaseSummary {
  readonly phase: Phase;
  readonly orders: { sent: number; ok: number; successRatio: number | undefined; p99Ms: number | undefined };
  readonly catalog: { sent: number; rateLimited: number };
}

export interface Summary {
  readonly durationS: number;
  /** The topic exchange of this run. */
  readonly exchange: string;
  readonly rate: number;
  readonly messaging: boolean;
  readonly phases: PhaseSummary[];
  readonly outage: {
    readonly gatewayOrders: number;
    readonly paymentCalls: number;
    readonly paymentsReceived: number;
    /** Requests payments received per call orders made to it. */
    readonly receivedPerCall: number | undefined;
    readonly breakerOpened: number;
  };
  /** The payments breaker's states as the scrapes saw them, repeats collapsed. */
  readonly breakerStates: string[];
  /** Its transitions over the whole run, from its events. */
  readonly breaker: { readonly opened: number; readonly halfOpened: number; readonly closed: number };
  readonly messages:
    | (MessageCounts & { readonly expected: number; readonly accountedFor: number; readonly lost: number })
    | undefined;
  readonly trace:
    | {
        readonly traceId: string;
        readonly services: string[];
        readonly spans: number;
        readonly rendered: string;
      }
    | undefined;
  readonly pids: number[];
  readonly metricsPorts: Record<string, number>;
}

function p99(latencies: readonly number[]): number | undefined {
  if (latencies.length === 0) return undefined;
  const sorted = [...latencies].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)];
}

function phaseSummary(
  phase: Phase,
  routes: Record<'orders' | 'catalog', RouteStats> | undefined,
): PhaseSummary {
  const orders = routes?.orders;
  const catalog = routes?.catalog;
  return {
    phase,
    orders: {
      sent: orders?.sent ?? 0,
      ok: orders?.ok ?? 0,
      successRatio: orders === undefined || orders.sent === 0 ? undefined : orders.ok / orders.sent,
      p99Ms: orders === undefined ? undefined : p99(orders.latencies),
    },
    catalog: { sent: catalog?.sent ?? 0, rateLimited: catalog?.statuses['429'] ?? 0 },
  };
}

function delta(intervals: readonly Interval[], phase: Phase, read: (s: Snapshot) => number): number {
  let total = 0;
  for (const i of intervals) if (i.phase === phase) total += read(i.end) - read(i.start);
  return total;
}

export interface SummaryInput {
  readonly durationS: number;
  readonly exchange: string;
  readonly rate: number;
  readonly messaging: boolean;
  readonly load: Map<Phase, Record<'orders' | 'catalog', RouteStats>>;
  readonly intervals: readonly Interval[];
  readonly final: Snapshot;
  readonly breakerStates: string[];
  readonly trace: readonly SpanRecord[] | undefined;
  readonly pids: number[];
  readonly metricsPorts: Record<string, number>;
}

function between(input: SummaryInput, read: (s: Snapshot) => number): number {
  const first = input.intervals[0];
  return first === undefined ? 0 : read(input.final) - read(first.start);
}

export function buildSummary(input: SummaryInput): Summary {
  const calls = delta(input.intervals, 'outage', paymentCalls);
  const received = delta(input.intervals, 'outage', paymentsReceived);
  let messages: Summary['messages'];
  if (input.messaging) {
    const counts = messageCounts(input.final);
    const expected = counts.published * SUBSCRIBERS.length;
    const accountedFor = Object.values(counts.subscribers).reduce((n, c) => n + c.acked + c.deadLettered, 0);
    messages = { ...counts, expected, accountedFor, lost: Math.max(0, expected - accountedFor) };
  }
  let trace: Summary['trace'];
  if (input.trace !== undefined && input.trace.length > 0) {
    const spans = input.trace.map(toReadableSpan);
    trace = {
      traceId: input.trace[0]!.traceId,
      services: [...new Set(input.trace.map((s) => s.service))],
      spans: spans.length,
      rendered: renderTrace(spans, { color: false, width: 120 }),
    };
  }
  return {
    durationS: input.durationS,
    exchange: input.exchange,
    rate: input.rate,
    messaging: input.messaging,
    phases: PHASES.filter((p) => input.load.has(p.name)).map((p) =>
      phaseSummary(p.name, input.load.get(p.name)),
    ),
    outage: {
      gatewayOrders: delta(input.intervals, 'outage', gatewayOrders),
      paymentCalls: calls,
      paymentsReceived: received,
      receivedPerCall: calls > 0 ? received / calls : undefined,
      breakerOpened: delta(input.intervals, 'outage', (s) => paymentsEvents(s, 'break')),
    },
    breakerStates: input.breakerStates,
    breaker: {
      opened: between(input, (s) => paymentsEvents(s, 'break')),
      halfOpened: between(input, (s) => paymentsEvents(s, 'half-open')),
      closed: between(input, (s) => paymentsEvents(s, 'reset')),
    },
    messages,
    trace,
    pids: input.pids,
    metricsPorts: input.metricsPorts,
  };
}

const percent = (ratio: number | undefined): string =>
  ratio === undefined ? '–' : `${(ratio * 100).toFixed(1)} %`;

/** The summary as the lines printed at the end of a run. */
export function summaryText(summary: Summary, s: Style, traceText: string | undefined): string[] {
  const lines = [
    '',
    s.bold(`Summary: ${summary.durationS} s at ${summary.rate} req/s to the gateway`),
    '',
    `  ${'phase'.padEnd(10)}${'POST /orders'.padStart(13)}${'answered 2xx'.padStart(14)}${'p99'.padStart(10)}   GET /catalog answered 429`,
  ];
  for (const p of summary.phases) {
    const p99Text = p.orders.p99Ms === undefined ? '–' : `${Math.round(p.orders.p99Ms)} ms`;
    lines.push(
      `  ${p.phase.padEnd(10)}${String(p.orders.sent).padStart(13)}${percent(p.orders.successRatio).padStart(14)}` +
        `${p99Text.padStart(10)}   ${p.catalog.rateLimited} of ${p.catalog.sent}`,
    );
  }
  const o = summary.outage;
  const perCall = o.receivedPerCall === undefined ? '–' : o.receivedPerCall.toFixed(2);
  lines.push(
    '',
    `  Retries during the outage: orders made ${o.paymentCalls} payment calls (for ${o.gatewayOrders} POST /orders at the gateway);`,
    `  payments received ${o.paymentsReceived} requests, ${perCall} per call (3 attempts each, unchecked by the retry budget`,
    `  and the breaker, would have sent 3); the breaker opened ${o.breakerOpened}× during the outage.`,
    `  Payments breaker over the run: opened ${summary.breaker.opened}×, half-open ${summary.breaker.halfOpened}×,` +
      ` closed again ${summary.breaker.closed}× (states scraped: ${summary.breakerStates.join(' → ')})`,
  );
  const m = summary.messages;
  if (m === undefined) lines.push('', '  Messaging leg skipped: RabbitMQ was not reachable.');
  else {
    lines.push(
      '',
      `  Messages: orders published ${m.published} order.created to the ${summary.exchange} topic exchange`,
    );
    for (const name of SUBSCRIBERS) {
      const c = m.subscribers[name] ?? { acked: 0, deadLettered: 0 };
      lines.push(`    ${name.padEnd(14)} acked ${c.acked}, dead-lettered ${c.deadLettered}`);
    }
    lines.push(
      m.lost === 0
        ? `    ${m.accountedFor} of ${m.expected} copies acked or dead-lettered: nothing lost`
        : `    ${m.accountedFor} of ${m.expected} copies acked or dead-lettered: ${m.lost} not accounted for when the demo stopped waiting`,
    );
  }
  if (summary.trace !== undefined && traceText !== undefined) {
    lines.push(
      '',
      s.bold(
        `One order across ${summary.trace.services.length} services (${summary.trace.spans} spans), drawn by renderTrace:`,
      ),
      traceText,
    );
  } else
    lines.push('', '  No complete trace was collected (OTEL_TRACES_EXPORTER set, or no order got through).');
  lines.push(
    '',
    `  /metrics: ${Object.entries(summary.metricsPorts)
      .map(([name, port]) => `${name} :${port}`)
      .join(', ')}`,
    '  To watch it in Grafana, run the demo under Prometheus as dashboards/README.md shows',
    '  (--metrics-port-base and --targets-file).',
  );
  return lines;
}
