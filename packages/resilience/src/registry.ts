import type { Disposer } from './events.js';
import type { Pipeline } from './pipeline.js';

type CreatedListener = (pipeline: Pipeline) => void;
interface Registry {
  listeners: CreatedListener[];
  live: Set<Pipeline>;
}

// One registry per process, shared by every installed copy, so telemetry sees every pipeline.
const kRegistry = Symbol.for('keel.resilience.registry');
const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
holder[kRegistry] ??= { listeners: [], live: new Set() };
const registry: Registry = holder[kRegistry];

/**
 * Calls `listener` for every pipeline created from now on (and, with `replay`, for each live one now).
 * This is how `@keel/telemetry` observes pipelines automatically.
 */
export function onPipelineCreated(listener: CreatedListener, options: { replay?: boolean } = {}): Disposer {
  registry.listeners.push(listener);
  if (options.replay === true) for (const p of registry.live) listener(p);
  return () => {
    const i = registry.listeners.indexOf(listener);
    if (i >= 0) registry.listeners.splice(i, 1);
  };
}

/** The pipelines created and not yet disposed. */
export function livePipelines(): readonly Pipeline[] {
  return [...registry.live];
}

export function announce(pipeline: Pipeline): void {
  registry.live.add(pipeline);
  for (const listener of registry.listeners) listener(pipeline);
}

export function retire(pipeline: Pipeline): void {
  registry.live.delete(pipeline);
}
