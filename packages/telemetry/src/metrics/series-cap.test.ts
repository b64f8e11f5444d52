import fc from 'fast-check';
import type { Registry, RegistryContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, SERIES_OVERFLOW_METRIC } from './create-metrics.js';

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

describe('the per-metric series cap', () => {
  it('keeps 10,000 distinct label values within the limit plus one overflow series', async () => {
    const metrics = createMetrics({ seriesLimit: 100 });
    for (let i = 0; i < 10_000; i++) {
      metrics.httpClientDuration.record({ http_request_method: 'GET', server_address: `host-${i}` }, 0.01);
    }
    const series = await seriesOf(metrics.registry, 'http_client_request_duration_seconds');
    expect(series).toHaveLength(101);
    expect(series).toContainEqual({
      http_request_method: '_overflow',
      http_response_status_code: '_overflow',
      server_address: '_overflow',
      server_port: '_overflow',
      error_type: '_overflow',
    });
  });

  it('records a status given as a number and as a string into one series', async () => {
    const metrics = createMetrics();
    for (const status of [200, '200', 200, '200']) {
      metrics.httpClientDuration.record(
        { http_request_method: 'GET', http_response_status_code: status },
        0.01,
      );
    }
    const series = await seriesOf(metrics.registry, 'http_client_request_duration_seconds');
    expect(series).toEqual([{ http_request_method: 'GET', http_response_status_code: '200' }]);
  });

  it('keeps recordings of many raw values that share a few series exact', async () => {
    const metrics = createMetrics({ seriesLimit: 10 });
    const long = 'h'.repeat(128);
    for (let i = 0; i < 1_000; i++) {
      metrics.httpClientDuration.record({ http_request_method: 'GET', server_address: `${long}${i}` }, 0.01);
    }
    const samples = await samplesOf(metrics.registry, 'http_client_request_duration_seconds');
    const counts = samples.filter((s) => s.metricName?.endsWith('_count'));
    expect(counts).toEqual([
      expect.objectContaining({ value: 1_000, labels: { http_request_method: 'GET', server_address: long } }),
    ]);
  });

  it('holds the default limit of 2000 against 10,000 distinct values', async () => {
    const metrics = createMetrics();
    for (let i = 0; i < 10_000; i++) {
      metrics.resilienceEvents.increment({ pipeline: `p-${i}`, policy: 'retry', event: 'retry' });
    }
    expect(await seriesOf(metrics.registry, 'resilience_events_total')).toHaveLength(2001);
  });

  it('counts each recording diverted to the overflow series, per metric', async () => {
    const metrics = createMetrics({ seriesLimit: 2 });
    for (let i = 0; i < 5; i++) metrics.messagingSent.increment({ messaging_destination_name: `q${i}` });
    expect(await samplesOf(metrics.registry, SERIES_OVERFLOW_METRIC)).toMatchObject([
      { value: 3, labels: { metric: 'messaging_client_sent_messages_total' } },
    ]);
  });

  it('keeps recording known series after the cap is reached', async () => {
    const metrics = createMetrics({ seriesLimit: 1 });
    metrics.messagingSent.increment({ messaging_destination_name: 'orders' });
    metrics.messagingSent.increment({ messaging_destination_name: 'other' });
    metrics.messagingSent.increment({ messaging_destination_name: 'orders' });
    const samples = await samplesOf(metrics.registry, 'messaging_client_sent_messages_total');
    expect(samples).toContainEqual(
      expect.objectContaining({ value: 2, labels: { messaging_destination_name: 'orders' } }),
    );
  });

  it('treats values that sanitise alike as one series', async () => {
    const metrics = createMetrics({ seriesLimit: 5 });
    metrics.rpcServerDuration.record({ rpc_method: 'Get\r\nUser' }, 0.1);
    metrics.rpcServerDuration.record({ rpc_method: 'GetUser' }, 0.1);
    expect(await seriesOf(metrics.registry, 'rpc_server_call_duration_seconds')).toEqual([
      { rpc_method: 'GetUser' },
    ]);
  });

  it('never exceeds the limit plus one, whatever the label values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.string(), fc.option(fc.string(), { nil: undefined })), { maxLength: 200 }),
        async (seriesLimit, values) => {
          const metrics = createMetrics({ seriesLimit });
          for (const [policy, event] of values) {
            metrics.resilienceEvents.increment({ pipeline: 'p', policy, event });
          }
          const series = await seriesOf(metrics.registry, 'resilience_events_total');
          expect(series.length).toBeLessThanOrEqual(seriesLimit + 1);
        },
      ),
      { numRuns: 50 },
    );
  });
});
