import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AdaptiveLimitOptions, BulkheadOptions } from './bulkhead.js';
import type { ChaosOptions } from './chaos.js';
import type { CircuitBreakerOptions } from './circuit-breaker.js';
import type { HedgeDelayOptions, HedgeOptions } from './hedge.js';
import {
  type HedgePolicy,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  pipelinesSchema,
  type RetryPolicy,
  type TimeoutPolicy,
  validatePipelinesConfig,
} from './index.js';
import { PIPELINE_OPTION_KEYS } from './internal/resolve-options.js';
import { deref, type Schema } from './internal/schema-walk.js';
import type { RateLimitOptions } from './rate-limit.js';
import type { RetryOptions } from './retry.js';
import type { RetryBudgetOptions } from './retry-budget.js';

// Every option of every policy is either plain data (in the schema) or code (given through
// `overrides`); `satisfies` fails to compile when an option is added to a type and not classified here.
type Kind = 'data' | 'code';
const classified = {
  pipeline: {
    timeout: 'data',
    totalTimeout: 'data',
    retry: 'data',
    circuitBreaker: 'data',
    bulkhead: 'data',
    rateLimit: 'data',
    fallback: 'data',
    hedge: 'data',
    chaos: 'data',
  } satisfies Record<keyof PipelineOptions, Kind>,
  retry: {
    maxAttempts: 'data',
    baseDelayMs: 'data',
    maxDelayMs: 'data',
    retryOn: 'code',
    retryAfter: 'code',
    budget: 'data',
  } satisfies Record<keyof RetryOptions, Kind>,
  retryBudget: { maxTokens: 'data', tokenRatio: 'data' } satisfies Record<keyof RetryBudgetOptions, Kind>,
  circuitBreaker: {
    consecutiveFailures: 'data',
    failureRatio: 'data',
    minimumThroughput: 'data',
    samplingDurationMs: 'data',
    slowCallDurationThresholdMs: 'data',
    slowCallRateThreshold: 'data',
    breakDurationMs: 'data',
    maxBreakDurationMs: 'data',
    halfOpenProbes: 'data',
    failureOn: 'code',
  } satisfies Record<keyof CircuitBreakerOptions, Kind>,
  bulkhead: { maxConcurrent: 'data', maxQueue: 'data', adaptive: 'data' } satisfies Record<
    keyof BulkheadOptions,
    Kind
  >,
  adaptiveLimit: {
    algorithm: 'data',
    minLimit: 'data',
    maxLimit: 'data',
    initialLimit: 'data',
    increase: 'data',
    backoffRatio: 'data',
    smoothing: 'data',
    queueSize: 'data',
    rttWindow: 'data',
    probeInterval: 'data',
  } satisfies Record<keyof AdaptiveLimitOptions, Kind>,
  rateLimit: {
    limit: 'data',
    intervalMs: 'data',
    burst: 'data',
    maxWaitMs: 'data',
  } satisfies Record<keyof RateLimitOptions, Kind>,
  hedge: {
    maxHedged: 'data',
    delayMs: 'data',
    delay: 'data',
    budget: 'data',
    accept: 'code',
  } satisfies Record<keyof HedgeOptions, Kind>,
  hedgeDelay: { percentile: 'data', window: 'data', minSamples: 'data' } satisfies Record<
    keyof HedgeDelayOptions,
    Kind
  >,
  chaos: {
    rate: 'data',
    latencyMs: 'data',
    enabledInProduction: 'data',
    error: 'code',
    result: 'code',
    when: 'code',
    random: 'code',
  } satisfies Record<keyof ChaosOptions, Kind>,
};

const defs = pipelinesSchema.$defs!;
const schemaOf: Record<keyof typeof classified, Schema> = {
  pipeline: defs.pipeline!,
  retry: defs.retry!,
  retryBudget: defs.retryBudget!,
  circuitBreaker: defs.circuitBreaker!,
  bulkhead: defs.bulkhead!,
  adaptiveLimit: defs.adaptiveLimit!,
  rateLimit: defs.rateLimit!,
  hedge: defs.hedge!,
  hedgeDelay: defs.hedge!.properties!.delay!,
  chaos: defs.chaos!,
};

interface Leaf {
  path: string[];
  schema: Schema;
}

/** The numeric options of a pipeline in the schema, with their paths. */
function numericLeaves(given: Schema, path: string[] = []): Leaf[] {
  const schema = deref(pipelinesSchema, given);
  if (schema.anyOf !== undefined) return schema.anyOf.flatMap((s) => numericLeaves(s, path));
  if (schema.type === 'integer' || schema.type === 'number') return [{ path, schema }];
  if (schema.type !== 'object') return [];
  return Object.entries(schema.properties ?? {}).flatMap(([k, s]) => numericLeaves(s, [...path, k]));
}

// What each numeric option needs around it to be tried alone: the required options of its policy, and
// the option another one is bounded by at its own minimum. The attempt and total timeouts are off, so no
// bound derived from them applies (the dry run of validatePipelinesConfig checks those).
const around: Record<string, Record<string, unknown>> = {
  // The default breaker's window is twice the attempt timeout, within its own bound of an hour.
  timeout: { circuitBreaker: false },
  'bulkhead.maxQueue': { maxConcurrent: 1 },
  'bulkhead.adaptive.increase': { algorithm: 'aimd' },
  'bulkhead.adaptive.backoffRatio': { algorithm: 'aimd' },
  'bulkhead.adaptive.initialLimit': { maxLimit: 100_000 },
  rateLimit: { limit: 1 },
  chaos: { rate: 0, latencyMs: 0 },
  'hedge.delay': { percentile: 0.5, window: 10_000 },
  'retry.maxDelayMs': { baseDelayMs: 1 },
  'circuitBreaker.maxBreakDurationMs': { breakDurationMs: 1 },
  'circuitBreaker.slowCallRateThreshold': { slowCallDurationThresholdMs: 1 },
};

function optionsWith(path: string[], value: number): Record<string, unknown> {
  const root: Record<string, unknown> = { timeout: false, totalTimeout: false };
  let target = root;
  for (let i = 0; i < path.length - 1; i++) {
    const prefix = path.slice(0, i + 1).join('.');
    const child = { ...around[prefix] };
    target[path[i]!] = child;
    target = child;
  }
  Object.assign(target, around[path.join('.')]);
  target[path.at(-1)!] = value;
  return root;
}

let names = 0;
function pipelineAccepts(options: Record<string, unknown>): boolean {
  let made: Pipeline | undefined;
  try {
    made = pipeline(`schema-test-${names++}`, options as PipelineOptions);
    return true;
  } catch {
    return false;
  } finally {
    made?.dispose();
  }
}

const schemaAccepts = (options: Record<string, unknown>) =>
  validatePipelinesConfig({ pipelines: { p: options } }).length === 0;

describe('pipelines.schema.json', () => {
  it('is the file the package publishes', () => {
    const published = JSON.parse(
      readFileSync(new URL('../schema/pipelines.schema.json', import.meta.url), 'utf8'),
    );
    expect(published).toEqual(pipelinesSchema);
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect(manifest.exports['./schema/pipelines.schema.json']).toBe('./schema/pipelines.schema.json');
  });

  it.each(Object.keys(classified) as (keyof typeof classified)[])(
    'lists exactly the plain-data options of %s',
    (policy) => {
      const data = Object.entries(classified[policy])
        .filter(([, kind]) => kind === 'data')
        .map(([key]) => key);
      expect(Object.keys(schemaOf[policy].properties!).sort()).toEqual(data.sort());
    },
  );

  it('knows every option of the standard pipeline', () => {
    expect(Object.keys(classified.pipeline).sort()).toEqual([...PIPELINE_OPTION_KEYS].sort());
  });

  const leaves = numericLeaves(defs.pipeline!);
  it.each(leaves.map((l) => [l.path.join('.'), l] as const))(
    'agrees with pipeline() at the bounds of %s',
    (_name, leaf) => {
      const step = leaf.schema.type === 'integer' ? 1 : 1e-6;
      const { minimum, maximum } = leaf.schema;
      for (const [value, valid] of [
        [minimum! - step, false],
        [minimum!, true],
        [maximum!, true],
        [maximum! + step, false],
      ] as const) {
        const options = optionsWith(leaf.path, value);
        expect({ value, schema: schemaAccepts(options) }).toEqual({ value, schema: valid });
        expect({ value, pipeline: pipelineAccepts(options) }).toEqual({ value, pipeline: valid });
      }
    },
  );

  it('states the defaults pipeline() uses', () => {
    const built = pipeline(`schema-test-${names++}`, {
      retry: {},
      bulkhead: { maxConcurrent: 1 },
      hedge: {},
    });
    const unbounded = pipeline(`schema-test-${names++}`, { timeout: false, hedge: {} });
    try {
      const find = <P>(p: Pipeline, name: string) => p.policies.find((x) => x.name === name) as P;
      const def = (schema: Schema | undefined) => deref(pipelinesSchema, schema!).default;
      const retry = find<RetryPolicy>(built, 'retry');
      expect(find<TimeoutPolicy>(built, 'timeout').ms).toBe(def(defs.pipeline!.properties!.timeout));
      expect(find<TimeoutPolicy>(built, 'total-timeout').ms).toBe(
        def(defs.pipeline!.properties!.totalTimeout),
      );
      expect(retry.maxAttempts).toBe(def(defs.retry!.properties!.maxAttempts));
      expect(retry.budget!.maxTokens).toBe(def(defs.retryBudget!.properties!.maxTokens));
      expect(retry.budget!.tokenRatio).toBe(def(defs.retryBudget!.properties!.tokenRatio));
      expect(built.stats.bulkheadQueued).toBe(0);
      const hedge = find<HedgePolicy>(unbounded, 'hedge');
      expect(hedge.maxHedged).toBe(def(defs.hedge!.properties!.maxHedged));
      expect(hedge.delayMs).toBe(def(defs.hedge!.properties!.delayMs));
    } finally {
      built.dispose();
      unbounded.dispose();
    }
  });
});
