import fc from 'fast-check';
import { Counter, type OpenMetricsContentType, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { eventCounter } from './event-counter.js';
import type { InstrumentContext } from './instrument-context.js';

const TRACE_A = '0af7651916cd43dd8448eb211c80319c';
const TRACE_B = '4bf92f3577b34da6a3ce929d0e0e4736';

function counterIn(registry: Registry<OpenMetricsContentType>) {
  const context: InstrumentContext = { registry, seriesLimit: 10, overflowCounterFor: () => () => undefined };
  return eventCounter(context, { name: 'op_events_total', help: 'h', labelNames: ['op', 'event'] });
}

function openMetricsRegistry(): Registry<OpenMetricsContentType> {
  const registry = new Registry<OpenMetricsContentType>();
  registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  return registry;
}

describe('eventCounter', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('counts every event through prom-client’s public inc, so a prom-client with other internals counts the same', () => {
    const registry = openMetricsRegistry();
    const counter = counterIn(registry);
    const inc = vi.spyOn(registry.getSingleMetric('op_events_total') as Counter, 'inc');
    for (let i = 0; i < 3; i++) counter.increment({ op: 'a', event: 'success' }, TRACE_A);
    expect(inc).toHaveBeenCalledTimes(3);
  });

  it('counts each event of a series once', async () => {
    const registry = openMetricsRegistry();
    const counter = counterIn(registry);
    for (let i = 0; i < 3; i++) counter.increment({ op: 'a', event: 'success' });
    counter.increment({ op: 'a', event: 'retry' });
    const out = await registry.metrics();
    expect(out).toContain('op_events_total{op="a",event="success"} 3');
    expect(out).toContain('op_events_total{op="a",event="retry"} 1');
  });

  it('keeps the latest trace of a series as its exemplar', async () => {
    const registry = openMetricsRegistry();
    const counter = counterIn(registry);
    counter.increment({ op: 'a', event: 'retry' }, TRACE_A);
    counter.increment({ op: 'a', event: 'retry' }, TRACE_B);
    counter.increment({ op: 'a', event: 'retry' });
    expect(await registry.metrics()).toMatch(
      new RegExp(`op_events_total\\{op="a",event="retry"\\} 3 # \\{trace_id="${TRACE_B}"\\} 1`),
    );
  });

  it('counts again from zero after the registry is reset', async () => {
    const registry = openMetricsRegistry();
    const counter = counterIn(registry);
    counter.increment({ op: 'a', event: 'success' });
    counter.increment({ op: 'a', event: 'success' });
    registry.resetMetrics();
    counter.increment({ op: 'a', event: 'success' });
    expect(await registry.metrics()).toContain('op_events_total{op="a",event="success"} 1');
  });

  it('renders exactly what prom-client’s own inc renders, for any sequence of events and resets', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.tuple(fc.constantFrom('a', 'b'), fc.constantFrom('success', 'retry')),
            fc.constant('reset' as const),
          ),
          {
            maxLength: 60,
          },
        ),
        async (steps) => {
          const ours = new Registry();
          const counter = counterIn(ours as unknown as Registry<OpenMetricsContentType>);
          const theirs = new Registry();
          const reference = new Counter({
            name: 'op_events_total',
            help: 'h',
            labelNames: ['op', 'event'],
            registers: [theirs],
          });
          for (const step of steps) {
            if (step === 'reset') {
              ours.resetMetrics();
              theirs.resetMetrics();
              continue;
            }
            const [op, event] = step;
            counter.increment({ op, event });
            reference.inc({ op, event });
          }
          expect(await ours.metrics()).toBe(await theirs.metrics());
        },
      ),
      { numRuns: 100 },
    );
  });
});
