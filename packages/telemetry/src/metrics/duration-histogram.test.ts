import fc from 'fast-check';
import { Histogram, type OpenMetricsContentType, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DURATION_BUCKETS, durationHistogram } from './duration-histogram.js';
import type { InstrumentContext } from './instrument-context.js';

const TRACE_A = '0af7651916cd43dd8448eb211c80319c';
const TRACE_B = '4bf92f3577b34da6a3ce929d0e0e4736';

function histogramIn(registry: Registry<OpenMetricsContentType>) {
  const context: InstrumentContext = { registry, seriesLimit: 10, overflowCounterFor: () => () => undefined };
  return durationHistogram(context, { name: 'op_duration_seconds', help: 'h', labelNames: ['op'] });
}

function openMetricsRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

async function text(registry: Registry<OpenMetricsContentType>): Promise<string> {
  return registry.metrics();
}

describe('durationHistogram', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('records every duration through prom-client’s public observe, so a prom-client with other internals records the same', () => {
    const registry = openMetricsRegistry();
    const histogram = histogramIn(registry);
    const observe = vi.spyOn(registry.getSingleMetric('op_duration_seconds') as Histogram, 'observe');
    for (let i = 0; i < 3; i++) histogram.record({ op: 'a' }, 0.004, TRACE_A);
    expect(observe).toHaveBeenCalledTimes(3);
  });

  it('counts every recording of a series into its count, sum and bucket', async () => {
    const registry = openMetricsRegistry();
    const histogram = histogramIn(registry);
    for (const seconds of [0.004, 0.004, 0.02, 12]) histogram.record({ op: 'a' }, seconds);
    const out = await text(registry);
    expect(out).toContain('op_duration_seconds_count{op="a"} 4');
    expect(out).toContain('op_duration_seconds_sum{op="a"} 12.028');
    expect(out).toContain('op_duration_seconds_bucket{le="0.005",op="a"} 2');
    expect(out).toContain('op_duration_seconds_bucket{le="0.025",op="a"} 3');
    expect(out).toContain('op_duration_seconds_bucket{le="+Inf",op="a"} 4');
  });

  it('keeps the latest trace of a bucket as its exemplar', async () => {
    const registry = openMetricsRegistry();
    const histogram = histogramIn(registry);
    histogram.record({ op: 'a' }, 0.004, TRACE_A);
    histogram.record({ op: 'a' }, 0.003, TRACE_B);
    const out = await text(registry);
    expect(out).toMatch(
      new RegExp(`op_duration_seconds_bucket\\{le="0.005",op="a"\\} 2 # \\{trace_id="${TRACE_B}"\\} 0.003`),
    );
  });

  it('counts again from zero after the registry is reset', async () => {
    const registry = openMetricsRegistry();
    const histogram = histogramIn(registry);
    histogram.record({ op: 'a' }, 0.004);
    histogram.record({ op: 'a' }, 0.004);
    registry.resetMetrics();
    histogram.record({ op: 'a' }, 0.004);
    histogram.record({ op: 'a' }, 0.004);
    expect(await text(registry)).toContain('op_duration_seconds_count{op="a"} 2');
  });

  it('renders exactly what prom-client’s own observe renders, for any sequence of recordings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.double({ min: 0, max: 20, noNaN: true })), {
          maxLength: 60,
        }),
        async (recordings) => {
          const ours = new Registry();
          const histogram = histogramIn(ours as unknown as Registry<OpenMetricsContentType>);
          const theirs = new Registry();
          const reference = new Histogram({
            name: 'op_duration_seconds',
            help: 'h',
            labelNames: ['op'],
            buckets: [...DURATION_BUCKETS],
            registers: [theirs],
          });
          for (const [op, seconds] of recordings) {
            histogram.record({ op }, seconds);
            reference.observe({ op }, seconds);
          }
          expect(await ours.metrics()).toBe(await theirs.metrics());
        },
      ),
      { numRuns: 100 },
    );
  });
});
