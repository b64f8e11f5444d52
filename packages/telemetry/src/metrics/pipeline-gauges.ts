import { Gauge } from 'prom-client';
import type { InstrumentContext } from './instrument-context.js';
import { OVERFLOW_LABEL_VALUE, sanitizeLabelValue } from './label-value.js';

/** Live numbers of one resilience pipeline, read at scrape time; an absent field exports no series. */
export interface PipelineGaugeStats {
  readonly circuitState?: string | undefined;
  readonly bulkheadInFlight?: number | undefined;
  readonly bulkheadQueued?: number | undefined;
  readonly budgetTokens?: number | undefined;
  /** An adaptive bulkhead's current limit; absent (no series) for a fixed bulkhead or none. */
  readonly concurrencyLimit?: number | undefined;
  /** A keyed circuit breaker's key count, and its keys whose circuit is not closed (most recently used last). */
  readonly circuitKeys?:
    | { readonly size: number; readonly notClosed: readonly (readonly [string, string])[] }
    | undefined;
}

/** Anything with a name and live stats, such as a `Pipeline` of `@keel/resilience`. */
export interface PipelineGaugeSource {
  readonly name: string;
  readonly stats: PipelineGaugeStats;
}

/** The states `resilience_circuit_state` exports, one 0/1 series each. */
export const CIRCUIT_STATES = ['closed', 'open', 'half-open', 'isolated'] as const;

/**
 * The most keys of one pipeline's keyed breaker that `resilience_circuit_state` exports with a `key` label:
 * only keys whose circuit is not closed, the most recently used first. `resilience_circuit_keys` counts
 * every key by state, so what is beyond the cap still shows in the totals.
 */
export const CIRCUIT_KEY_SERIES_CAP = 20;

type NumericStat = 'bulkheadInFlight' | 'bulkheadQueued' | 'budgetTokens' | 'concurrencyLimit';

/** How a source is held: `weakly` lets it be collected, and its series then leave with it. */
export interface PipelineGaugeOptions {
  readonly weakly?: boolean;
}

interface Entry {
  readonly source: PipelineGaugeSource | undefined;
  readonly ref: WeakRef<PipelineGaugeSource> | undefined;
}

const sourceOf = (entry: Entry): PipelineGaugeSource | undefined => entry.source ?? entry.ref?.deref();

/** Registers the collect-time resilience gauges; returns the function that adds a source to them. */
export function pipelineGauges(
  context: InstrumentContext,
): (source: PipelineGaugeSource, options?: PipelineGaugeOptions) => () => void {
  // Wrapped so adding one source twice yields two independent disposers.
  const sources = new Set<Entry>();
  // A weakly held source collected without its remover being called: its entry goes too, so sources
  // made per request and dropped leave nothing behind even if no scrape comes.
  const collected = new FinalizationRegistry<Entry>((entry) => sources.delete(entry));
  // Sources past the cap, and several sources sharing a name, fold into one series per name.
  const groupByPipeline = (metric: string): Map<string, PipelineGaugeStats[]> => {
    const onOverflow = context.overflowCounterFor(metric);
    const groups = new Map<string, PipelineGaugeStats[]>();
    for (const entry of sources) {
      const source = sourceOf(entry);
      // Collected but not finalized yet: it exports nothing from this scrape on.
      if (source === undefined) {
        sources.delete(entry);
        continue;
      }
      let name = sanitizeLabelValue(source.name);
      if (!groups.has(name) && groups.size >= context.seriesLimit) {
        name = OVERFLOW_LABEL_VALUE;
        onOverflow();
      }
      const group = groups.get(name);
      if (group === undefined) groups.set(name, [source.stats]);
      else group.push(source.stats);
    }
    return groups;
  };

  const numericGauge = (name: string, help: string, stat: NumericStat): void => {
    const gauge = new Gauge<'pipeline'>({
      name,
      help,
      labelNames: ['pipeline'],
      registers: [],
      collect() {
        gauge.reset();
        for (const [pipeline, group] of groupByPipeline(name)) {
          let sum = 0;
          let seen = false;
          for (const stats of group) {
            const value = stats[stat];
            if (typeof value === 'number' && Number.isFinite(value)) {
              sum += value;
              seen = true;
            }
          }
          if (seen) gauge.set({ pipeline }, sum);
        }
      },
    });
    context.registry.registerMetric(gauge);
  };

  const circuitName = 'resilience_circuit_state';
  const circuit = new Gauge<'pipeline' | 'state' | 'key'>({
    name: circuitName,
    help: 'Circuit breaker state of each pipeline (and of the open keys of a keyed breaker, with key): 1 for the current state, 0 for the others.',
    labelNames: ['pipeline', 'state', 'key'],
    registers: [],
    collect() {
      circuit.reset();
      for (const [pipeline, group] of groupByPipeline(circuitName)) {
        const current = group.map((stats) => stats.circuitState).filter((state) => state !== undefined);
        if (current.length > 0) {
          for (const state of CIRCUIT_STATES)
            circuit.set({ pipeline, state }, current.includes(state) ? 1 : 0);
        }
        let shown = 0;
        for (const stats of group) {
          const notClosed = stats.circuitKeys?.notClosed ?? [];
          for (let i = notClosed.length - 1; i >= 0 && shown < CIRCUIT_KEY_SERIES_CAP; i--, shown++) {
            const [rawKey, keyState] = notClosed[i]!;
            const key = sanitizeLabelValue(rawKey);
            for (const state of CIRCUIT_STATES)
              circuit.set({ pipeline, key, state }, keyState === state ? 1 : 0);
          }
        }
      }
    },
  });
  context.registry.registerMetric(circuit);
  const keysName = 'resilience_circuit_keys';
  const keys = new Gauge<'pipeline' | 'state'>({
    name: keysName,
    help: 'Keys of a keyed circuit breaker, by the state of their circuit.',
    labelNames: ['pipeline', 'state'],
    registers: [],
    collect() {
      keys.reset();
      for (const [pipeline, group] of groupByPipeline(keysName)) {
        const counts = new Map<string, number>(CIRCUIT_STATES.map((state) => [state, 0]));
        let seen = false;
        for (const stats of group) {
          const circuitKeys = stats.circuitKeys;
          if (circuitKeys === undefined) continue;
          seen = true;
          counts.set('closed', counts.get('closed')! + circuitKeys.size - circuitKeys.notClosed.length);
          for (const [, state] of circuitKeys.notClosed) counts.set(state, (counts.get(state) ?? 0) + 1);
        }
        if (!seen) continue;
        for (const state of CIRCUIT_STATES) keys.set({ pipeline, state }, counts.get(state) ?? 0);
      }
    },
  });
  context.registry.registerMetric(keys);
  numericGauge('resilience_bulkhead_in_flight', 'Calls executing inside the bulkhead.', 'bulkheadInFlight');
  numericGauge('resilience_bulkhead_queued', 'Calls waiting in the bulkhead queue.', 'bulkheadQueued');
  numericGauge('resilience_retry_budget_tokens', 'Tokens left in the retry budget.', 'budgetTokens');
  numericGauge(
    'resilience_concurrency_limit',
    'Calls an adaptive bulkhead allows at once now (only pipelines with an adaptive limit).',
    'concurrencyLimit',
  );

  return function addPipelineGauges(source, options = {}) {
    const weakly = options.weakly === true;
    const entry: Entry = weakly
      ? { source: undefined, ref: new WeakRef(source) }
      : { source, ref: undefined };
    sources.add(entry);
    if (weakly) collected.register(source, entry, entry);
    return () => {
      sources.delete(entry);
      if (weakly) collected.unregister(entry);
    };
  };
}
