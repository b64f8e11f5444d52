import { type Histogram, Registry, type RegistryContentType, register } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, SERIES_OVERFLOW_METRIC } from './create-metrics.js';
import { DURATION_BUCKETS } from './duration-histogram.js';

const HTTP_SERVER = ['http_request_method', 'http_route', 'http_response_status_code', 'error_type'];
const HTTP_CLIENT = [
  'http_request_method',
  'http_response_status_code',
  'server_address',
  'server_port',
  'error_type',
];
const RPC = ['rpc_system_name', 'rpc_method', 'rpc_status_code', 'error_type'];
const MESSAGING = [
  'messaging_system',
  'messaging_operation_type',
  'messaging_destination_name',
  'error_type',
];

interface Sample {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

async function samplesOf(registry: Registry<RegistryContentType>, name: string): Promise<Sample[]> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  return (await metric.get()).values as unknown as Sample[];
}

// Distinct label sets, counting each histogram series once (by its `_count` sample).
async function seriesOf(
  registry: Registry<RegistryContentType>,
  name: string,
): Promise<Record<string, string | number>[]> {
  const samples = await samplesOf(registry, name);
  return samples
    .filter((s) => s.metricName === undefined || s.metricName.endsWith('_count'))
    .map((s) => s.labels);
}

describe('createMetrics', () => {
  it.each([
    ['http_server_request_duration_seconds', 'histogram', HTTP_SERVER],
    ['http_client_request_duration_seconds', 'histogram', HTTP_CLIENT],
    ['rpc_server_call_duration_seconds', 'histogram', RPC],
    ['rpc_client_call_duration_seconds', 'histogram', RPC],
    ['messaging_process_duration_seconds', 'histogram', MESSAGING],
    ['messaging_client_operation_duration_seconds', 'histogram', MESSAGING],
    ['messaging_client_consumed_messages_total', 'counter', MESSAGING],
    ['messaging_client_sent_messages_total', 'counter', MESSAGING],
    ['resilience_events_total', 'counter', ['pipeline', 'policy', 'event']],
    ['resilience_attempt_duration_seconds', 'histogram', ['pipeline', 'outcome']],
    ['resilience_circuit_state', 'gauge', ['pipeline', 'state', 'key']],
    ['resilience_circuit_keys', 'gauge', ['pipeline', 'state']],
    ['resilience_bulkhead_in_flight', 'gauge', ['pipeline']],
    ['resilience_bulkhead_queued', 'gauge', ['pipeline']],
    ['resilience_retry_budget_tokens', 'gauge', ['pipeline']],
    [SERIES_OVERFLOW_METRIC, 'counter', ['metric']],
  ])('registers %s as a %s with labels %j', (name, type, labelNames) => {
    const { registry } = createMetrics();
    const metric = registry.getSingleMetric(name) as unknown as { type: string; labelNames: string[] };
    expect(metric.type).toBe(type);
    expect(metric.labelNames).toEqual(labelNames);
  });

  it('gives every duration histogram the semantic-convention buckets from 5 ms to 10 s', () => {
    const { registry } = createMetrics();
    const histograms = registry.getMetricsAsArray().filter((metric) => String(metric.type) === 'histogram');
    expect(histograms).toHaveLength(7);
    for (const histogram of histograms) {
      expect((histogram as unknown as Histogram & { upperBounds: number[] }).upperBounds).toEqual([
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
      ]);
    }
    expect(DURATION_BUCKETS).toHaveLength(14);
  });

  it('never registers anything in the global prom-client registry', () => {
    const before = register.getMetricsAsArray().length;
    createMetrics();
    expect(register.getMetricsAsArray()).toHaveLength(before);
  });

  it('registers in the registry it is given', () => {
    const registry = new Registry();
    const metrics = createMetrics({ registry });
    expect(metrics.registry).toBe(registry);
    expect(registry.getSingleMetric('http_server_request_duration_seconds')).toBeDefined();
  });

  it('adds the process and runtime metrics only when asked', () => {
    expect(createMetrics().registry.getSingleMetric('process_cpu_seconds_total')).toBeUndefined();
    const { registry } = createMetrics({ defaultMetrics: true });
    expect(registry.getSingleMetric('process_cpu_seconds_total')).toBeDefined();
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects seriesLimit %s naming the option', (seriesLimit) => {
    expect(() => createMetrics({ seriesLimit })).toThrow(
      `createMetrics: option seriesLimit must be an integer of at least 1, received ${seriesLimit}`,
    );
  });

  it('records durations under the labels given, leaving absent labels out', async () => {
    const metrics = createMetrics();
    metrics.httpServerDuration.record({ http_request_method: 'GET', http_route: '/users/:id' }, 0.2);
    const series = await seriesOf(metrics.registry, 'http_server_request_duration_seconds');
    expect(series).toEqual([{ http_request_method: 'GET', http_route: '/users/:id' }]);
  });

  it('drops negative and non-finite durations instead of throwing', async () => {
    const metrics = createMetrics();
    for (const seconds of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      metrics.rpcClientDuration.record({ rpc_method: 'x' }, seconds);
    }
    expect(await seriesOf(metrics.registry, 'rpc_client_call_duration_seconds')).toEqual([]);
  });

  it('counts events one at a time', async () => {
    const metrics = createMetrics();
    const labels = { pipeline: 'payments', policy: 'retry', event: 'retry' } as const;
    metrics.resilienceEvents.increment(labels);
    metrics.resilienceEvents.increment(labels);
    expect(await samplesOf(metrics.registry, 'resilience_events_total')).toMatchObject([
      { value: 2, labels },
    ]);
  });
});
