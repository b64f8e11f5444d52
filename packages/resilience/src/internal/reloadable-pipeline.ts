import type { CircuitBreakerPolicy } from '../circuit-breaker.js';
import { CancelledError } from '../errors.js';
import { type Disposer, EventChannel, type ResilienceListener } from '../events.js';
import { createPipeline, type Pipeline, type PipelineOptions, type PipelineStats } from '../pipeline.js';
import { announce, assertNameFree, retire } from '../registry.js';

/** One set of options in force: the pipeline built from them and the calls it still runs. */
interface Generation {
  readonly pipeline: Pipeline;
  calls: number;
  /** Replaced or closed: disposed as soon as its last call settles. */
  retired: boolean;
}

/** A stable pipeline whose options can be swapped while calls run. */
export interface Reloadable {
  /** What the application holds: the same object across every swap. */
  readonly pipeline: Pipeline;
  /** New calls use `options`; calls in flight finish under the old ones. `keepBreaker` carries the breaker over. */
  swap(options: PipelineOptions, keepBreaker: boolean): void;
  /** Rejects new calls, and frees the name once the calls in flight have settled. */
  close(): void;
  /** Undoes `close()` with new options, while the name is still held. */
  reopen(options: PipelineOptions): void;
  /** True once closed and drained, or disposed: the name is free. */
  readonly gone: boolean;
}

/**
 * The registered face of a configured pipeline. The pipelines built from each version of the options
 * stay out of the registry, so the name belongs to this facade alone and is never free during a swap;
 * it forwards their events while it has listeners, and counts each generation's calls to dispose a
 * replaced one when its last call settles.
 */
export function reloadable(name: string, options: PipelineOptions): Reloadable {
  assertNameFree(name);
  const events = new EventChannel();
  let listeners = 0;
  const forwarding = new Map<Generation, Disposer>();
  const live = new Set<Generation>();
  let closed = false;
  let gone = false;

  const forward = (event: Parameters<ResilienceListener>[0]) => events.emit(event);
  const open = (pipeline: Pipeline): Generation => {
    const generation: Generation = { pipeline, calls: 0, retired: false };
    live.add(generation);
    if (listeners > 0) forwarding.set(generation, pipeline.onEvent(forward));
    return generation;
  };
  let current = open(createPipeline(name, options, false));

  const end = (generation: Generation) => {
    live.delete(generation);
    forwarding.get(generation)?.();
    forwarding.delete(generation);
    generation.pipeline.dispose();
    if (closed && live.size === 0 && !gone) {
      gone = true;
      retire(self);
    }
  };
  const retireGeneration = (generation: Generation) => {
    generation.retired = true;
    if (generation.calls === 0) end(generation);
  };
  const settle = (generation: Generation) => {
    generation.calls--;
    if (generation.retired && generation.calls === 0) end(generation);
  };

  const self: Pipeline = {
    name,
    get policies() {
      return current.pipeline.policies;
    },
    execute(fn, executeOptions) {
      if (closed || gone) return Promise.reject(new CancelledError('pipeline disposed', name));
      const generation = current;
      generation.calls++;
      const settled = () => settle(generation);
      return generation.pipeline.execute(fn, executeOptions).finally(settled);
    },
    get circuitState() {
      return current.pipeline.circuitState;
    },
    isolate: () => current.pipeline.isolate(),
    reset: () => current.pipeline.reset(),
    onEvent(listener) {
      const unsubscribe = events.subscribe(listener);
      if (listeners++ === 0) {
        for (const generation of live) forwarding.set(generation, generation.pipeline.onEvent(forward));
      }
      let subscribed = true;
      return () => {
        if (!subscribed) return;
        subscribed = false;
        unsubscribe();
        if (--listeners === 0) {
          for (const stop of forwarding.values()) stop();
          forwarding.clear();
        }
      };
    },
    get stats(): PipelineStats {
      let inFlight = 0;
      for (const generation of live) inFlight += generation.pipeline.stats.inFlight;
      return { ...current.pipeline.stats, inFlight };
    },
    dispose() {
      if (gone) return;
      closed = true;
      for (const generation of [...live]) end(generation);
    },
  };
  announce(self);

  return {
    pipeline: self,
    swap(next, keepBreaker) {
      const breaker = keepBreaker
        ? current.pipeline.policies.find((p): p is CircuitBreakerPolicy => p.name === 'circuit-breaker')
        : undefined;
      // Built before anything changes: options that fail here leave the old generation in force.
      const pipeline = createPipeline(name, next, false, breaker);
      const previous = current;
      current = open(pipeline);
      retireGeneration(previous);
    },
    close() {
      closed = true;
      retireGeneration(current);
    },
    reopen(next) {
      const pipeline = createPipeline(name, next, false);
      closed = false;
      current = open(pipeline);
    },
    get gone() {
      return gone;
    },
  };
}
