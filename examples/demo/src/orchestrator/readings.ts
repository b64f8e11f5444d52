// The numbers the live view and the summary show, read from two scrapes as Grafana's queries would.
import type { ServiceName } from '../protocol.js';
import { buckets, type Match, quantileBetween, type Sample, sum } from './prom-text.js';
import type { Snapshot } from './scrape.js';

/** Rate, error rate and p95 of one service over an interval. */
export interface ServiceReading {
  readonly name: ServiceName;
  readonly perSecond: number;
  /** Share of the interval's requests that failed, 0–1; undefined without requests. */
  readonly errorRatio: number | undefined;
  readonly p95Ms: number | undefined;
  /** Requests the gateway answered 429, per second. */
  readonly rateLimitedPerSecond?: number;
}

/** The payments pipeline in orders, and the messages on the broker. */
export interface ResilienceReading {
  readonly breaker: string;
  readonly retriesPerSecond: number;
  readonly budgetExhaustedPerSecond: number;
  readonly timeoutsPerSecond: number;
  readonly circuitRejectsPerSecond: number;
  readonly bulkheadInFlight: number;
  readonly bulkheadQueued: number;
  readonly budgetTokens: number;
}

export interface MessageCounts {
  readonly published: number;
  readonly subscribers: Record<string, { acked: number; deadLettered: number }>;
}

export const SUBSCRIBERS = ['inventory', 'notifications'] as const;

interface Family {
  readonly histogram: string;
  readonly match: Match;
  readonly failed: Match;
}

// A subscriber consumes two queues: its own, and `{queue}.dead`, whose consumer records the dead letters.
const isDeadQueue = (queue: string): boolean => queue.endsWith('.dead');
const isMainQueue = (queue: string): boolean => queue !== '' && !isDeadQueue(queue);

const isServerError = (status: string): boolean => Number(status) >= 500;

function familyOf(name: ServiceName): Family {
  switch (name) {
    case 'gateway':
    case 'payments':
      return {
        histogram: 'http_server_request_duration_seconds',
        match: {},
        failed: { http_response_status_code: isServerError },
      };
    case 'orders':
      return {
        histogram: 'rpc_server_call_duration_seconds',
        match: {},
        failed: { rpc_status_code: (code) => code !== 'OK' },
      };
    default:
      return {
        histogram: 'messaging_process_duration_seconds',
        match: { messaging_destination_name: isMainQueue },
        failed: { messaging_destination_name: isMainQueue, error_type: (type) => type !== '' },
      };
  }
}

const EMPTY: readonly Sample[] = [];

function samplesOf(snapshot: Snapshot, name: ServiceName): readonly Sample[] {
  return snapshot.samples.get(name) ?? EMPTY;
}

/** Request rate, error ratio and p95 of `name` between two snapshots. */
export function serviceReading(before: Snapshot, after: Snapshot, name: ServiceName): ServiceReading {
  const family = familyOf(name);
  const a = samplesOf(before, name);
  const b = samplesOf(after, name);
  const seconds = Math.max(0.001, (after.at - before.at) / 1_000);
  const count = `${family.histogram}_count`;
  const requests = sum(b, count, family.match) - sum(a, count, family.match);
  const failed = sum(b, count, family.failed) - sum(a, count, family.failed);
  const p95 = quantileBetween(
    buckets(a, family.histogram, family.match),
    buckets(b, family.histogram, family.match),
    0.95,
  );
  const reading: ServiceReading = {
    name,
    perSecond: requests / seconds,
    errorRatio: requests > 0 ? failed / requests : undefined,
    p95Ms: p95 === undefined ? undefined : p95 * 1_000,
  };
  if (name !== 'gateway') return reading;
  const limited = { http_response_status_code: '429' };
  return { ...reading, rateLimitedPerSecond: (sum(b, count, limited) - sum(a, count, limited)) / seconds };
}

/** How many times the payments pipeline emitted `event` (of `policy`, when given) up to a snapshot. */
export function paymentsEvents(snapshot: Snapshot, event: string, policy?: string): number {
  return sum(samplesOf(snapshot, 'orders'), 'resilience_events_total', {
    pipeline: 'payments',
    event,
    ...(policy === undefined ? {} : { policy }),
  });
}

/** The payments breaker's state as orders exports it. */
export function breakerState(snapshot: Snapshot): string {
  const open = samplesOf(snapshot, 'orders').find(
    (s) => s.name === 'resilience_circuit_state' && s.labels.pipeline === 'payments' && s.value === 1,
  );
  return open?.labels.state ?? '?';
}

export function resilienceReading(before: Snapshot, after: Snapshot): ResilienceReading {
  const seconds = Math.max(0.001, (after.at - before.at) / 1_000);
  const rate = (event: string, policy?: string): number =>
    (paymentsEvents(after, event, policy) - paymentsEvents(before, event, policy)) / seconds;
  const gauge = (name: string): number => sum(samplesOf(after, 'orders'), name, { pipeline: 'payments' });
  return {
    breaker: breakerState(after),
    retriesPerSecond: rate('retry'),
    budgetExhaustedPerSecond: rate('budget-exhausted'),
    timeoutsPerSecond: rate('timeout'),
    circuitRejectsPerSecond: rate('reject', 'circuit-breaker'),
    bulkheadInFlight: gauge('resilience_bulkhead_in_flight'),
    bulkheadQueued: gauge('resilience_bulkhead_queued'),
    budgetTokens: gauge('resilience_retry_budget_tokens'),
  };
}

/** Messages orders published, and what each subscriber acknowledged or dead-lettered, up to a snapshot. */
export function messageCounts(snapshot: Snapshot): MessageCounts {
  const subscribers: MessageCounts['subscribers'] = {};
  for (const name of SUBSCRIBERS) {
    const samples = samplesOf(snapshot, name);
    subscribers[name] = {
      acked: sum(samples, 'messaging_process_duration_seconds_count', {
        messaging_destination_name: isMainQueue,
        error_type: '',
      }),
      deadLettered: sum(samples, 'messaging_client_consumed_messages_total', {
        messaging_destination_name: isDeadQueue,
      }),
    };
  }
  return {
    published: sum(samplesOf(snapshot, 'orders'), 'messaging_client_sent_messages_total'),
    subscribers,
  };
}

/** Requests payments received (its server histogram) up to a snapshot. */
export function paymentsReceived(snapshot: Snapshot): number {
  return sum(samplesOf(snapshot, 'payments'), 'http_server_request_duration_seconds_count');
}

/** Calls orders made to payments (each call once, whatever its attempts) up to a snapshot. */
export function paymentCalls(snapshot: Snapshot): number {
  return paymentsEvents(snapshot, 'success', 'pipeline') + paymentsEvents(snapshot, 'failure', 'pipeline');
}

/** `POST /orders` requests the gateway received up to a snapshot. */
export function gatewayOrders(snapshot: Snapshot): number {
  return sum(samplesOf(snapshot, 'gateway'), 'http_server_request_duration_seconds_count', {
    http_route: '/orders',
    http_request_method: 'POST',
  });
}
