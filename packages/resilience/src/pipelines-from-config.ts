import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error.js';
import { type Reloadable, reloadable } from './internal/reloadable-pipeline.js';
import { resolvePolicies } from './internal/resolve-options.js';
import { type ConfigIssue, type Schema, walk } from './internal/schema-walk.js';
import { isPlainObject, received } from './internal/validate.js';
import type { Pipeline, PipelineOptions } from './pipeline.js';
import { assertNameFree } from './registry.js';

/** The JSON Schema of the configuration format, as published at `@keel/resilience/schema/pipelines.schema.json`. */
export const pipelinesSchema: Schema = deepFreeze(
  JSON.parse(readFileSync(new URL('../schema/pipelines.schema.json', import.meta.url), 'utf8')),
);

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** Options of `pipelinesFromConfig`. */
export interface PipelinesFromConfigOptions {
  /**
   * Options in code, by pipeline name, laid over what the data says: the options that take a function
   * (`retry.retryOn`, `circuitBreaker.failureOn`, `hedge.accept`, chaos `error`/`result`/`when`, a
   * function `fallback`). A policy object in both is merged key by key; otherwise the override wins.
   * @default {}
   */
  overrides?: Record<string, PipelineOptions>;
}

/** Named pipelines built from configuration data, reloadable in place. */
export interface ConfiguredPipelines {
  /** The pipeline of that name; the same object across reloads. Throws for a name the configuration lacks. */
  get(name: string): Pipeline;
  /** The configured pipelines by name. */
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  /**
   * Validates `data` fully (throwing a `ConfigError`, with nothing changed, when it fails), then swaps
   * each pipeline's options: calls in flight finish under the options they started with, new calls use
   * the new ones. A breaker whose options (and `timeout`, `totalTimeout`) did not change keeps its state;
   * one whose did starts closed. Removed pipelines reject new calls and are disposed once their calls settle;
   * added ones are created.
   */
  reload(data: unknown): void;
  /** Disposes every pipeline (calls in flight are cancelled). */
  dispose(): void;
}

/**
 * Validates pipelines configuration against the published schema and the pipelines' own rules, returning
 * every issue found (empty when valid).
 */
export function validatePipelinesConfig(
  data: unknown,
  options: PipelinesFromConfigOptions = {},
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  walk(pipelinesSchema, pipelinesSchema, data, '', issues);
  if (issues.length > 0 || !isPlainObject(data)) return issues;
  for (const [name, given] of Object.entries(data.pipelines as Record<string, unknown>)) {
    // The schema cannot say how options relate (timeout ≤ totalTimeout, one breaker mode, …): the
    // pipeline's own validation does, on a dry run that starts nothing.
    try {
      resolvePolicies(`pipeline "${name}"`, merge(given as PipelineOptions, options.overrides?.[name]));
    } catch (error) {
      issues.push(issueOf(name, given as Record<string, unknown>, error));
    }
  }
  return issues;
}

/**
 * Builds named pipelines from plain data (JSON or YAML loaded by the application), after validating all
 * of it: a `ConfigError` lists every issue at once. Names must not be taken by other live pipelines.
 *
 * @example
 * const config = pipelinesFromConfig(JSON.parse(readFileSync('resilience.json', 'utf8')));
 * const payments = config.get('payments');
 * process.on('SIGHUP', () => config.reload(JSON.parse(readFileSync('resilience.json', 'utf8'))));
 */
export function pipelinesFromConfig(
  data: unknown,
  options: PipelinesFromConfigOptions = {},
): ConfiguredPipelines {
  const overrides = options.overrides ?? {};
  const entries = new Map<string, Reloadable>();
  const sources = new Map<string, Record<string, unknown>>();
  const facades = new Map<string, Pipeline>();
  // Removed pipelines whose calls have not all settled: they still hold their names.
  const draining = new Map<string, Reloadable>();

  const check = (next: unknown): Record<string, Record<string, unknown>> => {
    const issues = validatePipelinesConfig(next, options);
    if (issues.length > 0) throw new ConfigError(issues);
    const pipelines = (next as { pipelines: Record<string, Record<string, unknown>> }).pipelines;
    for (const name of Object.keys(pipelines)) {
      const closing = draining.get(name);
      const held = entries.get(name) ?? closing;
      if (held === undefined || held.gone) assertNameFree(name);
    }
    return pipelines;
  };

  const apply = (pipelines: Record<string, Record<string, unknown>>) => {
    for (const [name, closing] of draining) if (closing.gone) draining.delete(name);
    // A pipeline the application disposed itself is made afresh if the configuration still has it.
    for (const [name, entry] of entries) {
      if (!entry.gone) continue;
      entries.delete(name);
      sources.delete(name);
      facades.delete(name);
    }
    for (const [name, entry] of entries) {
      if (pipelines[name] !== undefined) continue;
      entry.close();
      if (!entry.gone) draining.set(name, entry);
      entries.delete(name);
      sources.delete(name);
      facades.delete(name);
    }
    for (const [name, given] of Object.entries(pipelines)) {
      const merged = merge(given as PipelineOptions, overrides[name]);
      const entry = entries.get(name);
      const before = sources.get(name);
      const closing = draining.get(name);
      draining.delete(name);
      if (entry === undefined && closing !== undefined && !closing.gone) {
        closing.reopen(merged);
        entries.set(name, closing);
        facades.set(name, closing.pipeline);
      } else if (entry === undefined) {
        const created = reloadable(name, merged);
        entries.set(name, created);
        facades.set(name, created.pipeline);
      } else if (before === undefined || canonical(before) !== canonical(given)) {
        entry.swap(merged, breakerUnchanged(before, given));
      }
      sources.set(name, given);
    }
  };

  apply(check(data));
  return {
    get(name) {
      const pipeline = facades.get(name);
      if (pipeline === undefined) {
        throw new TypeError(
          `pipelinesFromConfig: no pipeline named ${received(name)}; configured: ${[...facades.keys()].join(', ')}`,
        );
      }
      return pipeline;
    },
    pipelines: facades,
    reload(next) {
      apply(check(next));
    },
    dispose() {
      for (const entry of [...entries.values(), ...draining.values()]) entry.pipeline.dispose();
      draining.clear();
      entries.clear();
      sources.clear();
      facades.clear();
    },
  };
}

function merge(given: PipelineOptions, override: PipelineOptions | undefined): PipelineOptions {
  if (override === undefined) return given;
  const merged: Record<string, unknown> = { ...given };
  for (const [key, value] of Object.entries(override)) {
    const base = merged[key];
    merged[key] = isPlainObject(base) && isPlainObject(value) ? { ...base, ...value } : value;
  }
  return merged as PipelineOptions;
}

/**
 * The breaker depends on its own options and on the attempt timeout, which its default window and the
 * slow-call bound follow; the attempt timeout's default follows `totalTimeout`.
 */
function breakerUnchanged(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown>,
): boolean {
  return (
    before !== undefined &&
    canonical(before.circuitBreaker) === canonical(after.circuitBreaker) &&
    canonical(before.timeout) === canonical(after.timeout) &&
    canonical(before.totalTimeout) === canonical(after.totalTimeout)
  );
}

/** JSON with sorted keys, so two equal configurations compare equal however their keys were ordered. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    isPlainObject(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}

const OPTION_MESSAGE = /: option (\S+) must be (.*), received (.*)$/s;

function issueOf(name: string, given: Record<string, unknown>, error: unknown): ConfigIssue {
  const message = error instanceof Error ? error.message : String(error);
  const base = `pipelines.${name}`;
  const match = OPTION_MESSAGE.exec(message);
  if (match !== null) return { path: `${base}.${match[1]}`, expected: match[2]!, received: match[3]! };
  // A conflict between options: the message says which and what to do instead.
  const owner = `pipeline "${name}": `;
  const detail = message.startsWith(owner) ? message.slice(owner.length) : message;
  return { path: base, expected: `options that fit together (${detail})`, received: received(given) };
}
