import type { Registry, RegistryContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics, SERIES_OVERFLOW_METRIC } from './create-metrics.js';
import { CIRCUIT_KEY_SERIES_CAP, type PipelineGaugeStats } from './pipeline-gauges.js';

async function gauge(registry: Registry<RegistryContentType>, name: string) {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  return (await metric.get()).values.map(({ labels, value }) => ({ labels, value }));
}

describe('addPipelineGauges', () => {
  it('exports one 0/1 circuit-state series per state', async () => {
    const metrics = createMetrics();
    metrics.addPipelineGauges({ name: 'payments', stats: { circuitState: 'half-open' } });
    expect(await gauge(metrics.registry, 'resilience_circuit_state')).toEqual([
      { labels: { pipeline: 'payments', state: 'closed' }, value: 0 },
      { labels: { pipeline: 'payments', state: 'open' }, value: 0 },
      { labels: { pipeline: 'payments', state: 'half-open' }, value: 1 },
      { labels: { pipeline: 'payments', state: 'isolated' }, value: 0 },
    ]);
  });

  it('reads the stats at scrape time, not when the source is added', async () => {
    const metrics = createMetrics();
    let inFlight = 1;
    metrics.addPipelineGauges({
      name: 'payments',
      get stats(): PipelineGaugeStats {
        return { bulkheadInFlight: inFlight, bulkheadQueued: 4, budgetTokens: 7.5, concurrencyLimit: 12 };
      },
    });
    inFlight = 3;
    expect(await gauge(metrics.registry, 'resilience_bulkhead_in_flight')).toEqual([
      { labels: { pipeline: 'payments' }, value: 3 },
    ]);
    expect(await gauge(metrics.registry, 'resilience_bulkhead_queued')).toEqual([
      { labels: { pipeline: 'payments' }, value: 4 },
    ]);
    expect(await gauge(metrics.registry, 'resilience_retry_budget_tokens')).toEqual([
      { labels: { pipeline: 'payments' }, value: 7.5 },
    ]);
    expect(await gauge(metrics.registry, 'resilience_concurrency_limit')).toEqual([
      { labels: { pipeline: 'payments' }, value: 12 },
    ]);
  });

  it('exports a key label only for keys whose circuit is not closed, and counts every key by state', async () => {
    const metrics = createMetrics();
    metrics.addPipelineGauges({
      name: 'tenants',
      stats: { circuitKeys: { size: 5, notClosed: [['acme', 'open']] } },
    });
    expect(await gauge(metrics.registry, 'resilience_circuit_state')).toEqual([
      { labels: { pipeline: 'tenants', key: 'acme', state: 'closed' }, value: 0 },
      { labels: { pipeline: 'tenants', key: 'acme', state: 'open' }, value: 1 },
      { labels: { pipeline: 'tenants', key: 'acme', state: 'half-open' }, value: 0 },
      { labels: { pipeline: 'tenants', key: 'acme', state: 'isolated' }, value: 0 },
    ]);
    expect(await gauge(metrics.registry, 'resilience_circuit_keys')).toEqual([
      { labels: { pipeline: 'tenants', state: 'closed' }, value: 4 },
      { labels: { pipeline: 'tenants', state: 'open' }, value: 1 },
      { labels: { pipeline: 'tenants', state: 'half-open' }, value: 0 },
      { labels: { pipeline: 'tenants', state: 'isolated' }, value: 0 },
    ]);
  });

  it(`labels at most ${CIRCUIT_KEY_SERIES_CAP} keys per pipeline, the most recently used, and still counts them all`, async () => {
    const metrics = createMetrics();
    const notClosed = Array.from({ length: 300 }, (_, i) => [`host-${i}`, 'open'] as const);
    metrics.addPipelineGauges({ name: 'hosts', stats: { circuitKeys: { size: 1_000, notClosed } } });
    const series = await gauge(metrics.registry, 'resilience_circuit_state');
    const keys = new Set(series.map((s) => s.labels.key));
    expect(keys.size).toBe(CIRCUIT_KEY_SERIES_CAP);
    expect(keys.has('host-299')).toBe(true);
    expect(keys.has('host-0')).toBe(false);
    expect(await gauge(metrics.registry, 'resilience_circuit_keys')).toContainEqual({
      labels: { pipeline: 'hosts', state: 'open' },
      value: 300,
    });
  });

  it('exports no series for stats a pipeline does not have', async () => {
    const metrics = createMetrics();
    metrics.addPipelineGauges({ name: 'plain', stats: { circuitState: undefined } });
    expect(await gauge(metrics.registry, 'resilience_circuit_state')).toEqual([]);
    expect(await gauge(metrics.registry, 'resilience_bulkhead_in_flight')).toEqual([]);
  });

  it('removes the series when the disposer runs', async () => {
    const metrics = createMetrics();
    const remove = metrics.addPipelineGauges({ name: 'payments', stats: { circuitState: 'open' } });
    remove();
    remove();
    expect(await gauge(metrics.registry, 'resilience_circuit_state')).toEqual([]);
  });

  it('sums the numbers of pipelines that share a name', async () => {
    const metrics = createMetrics();
    metrics.addPipelineGauges({ name: 'payments', stats: { bulkheadInFlight: 2 } });
    metrics.addPipelineGauges({ name: 'payments', stats: { bulkheadInFlight: 5 } });
    expect(await gauge(metrics.registry, 'resilience_bulkhead_in_flight')).toEqual([
      { labels: { pipeline: 'payments' }, value: 7 },
    ]);
  });

  it('folds pipelines past the series cap into one _overflow pipeline and counts them', async () => {
    const metrics = createMetrics({ seriesLimit: 2 });
    for (let i = 0; i < 5; i++) metrics.addPipelineGauges({ name: `p${i}`, stats: { bulkheadQueued: 1 } });
    expect(await gauge(metrics.registry, 'resilience_bulkhead_queued')).toEqual([
      { labels: { pipeline: 'p0' }, value: 1 },
      { labels: { pipeline: 'p1' }, value: 1 },
      { labels: { pipeline: '_overflow' }, value: 3 },
    ]);
    expect(await gauge(metrics.registry, SERIES_OVERFLOW_METRIC)).toContainEqual({
      labels: { metric: 'resilience_bulkhead_queued' },
      value: 3,
    });
  });

  it('sanitises pipeline names', async () => {
    const metrics = createMetrics();
    metrics.addPipelineGauges({ name: `pay\r\nments${'x'.repeat(500)}`, stats: { budgetTokens: 1 } });
    const [series] = await gauge(metrics.registry, 'resilience_retry_budget_tokens');
    // Cut to 128 first (cheap on huge input), then the CR and LF go.
    expect(series?.labels.pipeline).toBe(`payments${'x'.repeat(118)}`);
  });
});
