import type { Disposer } from './events.js';
import type { Pipeline } from './pipeline.js';

type CreatedListener = (pipeline: Pipeline) => void;
interface Registry {
  listeners: CreatedListener[];
  /**
   * The live pipelines by name, held weakly: the registry never keeps a pipeline alive, so one made per
   * request and dropped without `dispose()` is collected like any other object.
   */
  live: Map<string, WeakRef<Pipeline>>;
  /** Frees the name of a pipeline collected without `dispose()`. */
  collected: FinalizationRegistry<string>;
  /** What runs when a pipeline is disposed; weakly keyed, so a hook holding its pipeline does not pin it. */
  onDispose: WeakMap<Pipeline, Disposer[]>;
}

// One registry per process, shared by every installed copy, so telemetry sees every pipeline and a
// name is taken once however many copies are installed. The key names this registry's shape.
const kRegistry = Symbol.for('keel.resilience.registry.v2');
const holder = globalThis as unknown as Record<symbol, Registry | undefined>;
holder[kRegistry] ??= {
  listeners: [],
  live: new Map(),
  collected: new FinalizationRegistry((name) => {
    const live = holder[kRegistry]!.live;
    if (live.get(name)?.deref() === undefined) live.delete(name);
  }),
  onDispose: new WeakMap(),
};
const registry: Registry = holder[kRegistry];

function* alive(): Generator<Pipeline> {
  for (const ref of registry.live.values()) {
    const pipeline = ref.deref();
    if (pipeline !== undefined) yield pipeline;
  }
}

/**
 * Calls `listener` for every pipeline created from now on (and, with `replay`, for each live one now).
 * This is how `@keel/telemetry` observes pipelines automatically.
 */
export function onPipelineCreated(listener: CreatedListener, options: { replay?: boolean } = {}): Disposer {
  registry.listeners.push(listener);
  if (options.replay === true) for (const p of [...alive()]) listener(p);
  return () => {
    const i = registry.listeners.indexOf(listener);
    if (i >= 0) registry.listeners.splice(i, 1);
  };
}

/**
 * Calls `listener` once when `pipeline` is disposed, so whatever observes it (metrics, subscriptions)
 * lets go of it; at once when it is no longer live. Returns the function that cancels the call.
 */
export function onPipelineDisposed(pipeline: Pipeline, listener: () => void): Disposer {
  if (registry.live.get(pipeline.name)?.deref() !== pipeline) {
    listener();
    return () => {};
  }
  let list = registry.onDispose.get(pipeline);
  if (list === undefined) {
    list = [];
    registry.onDispose.set(pipeline, list);
  }
  list.push(listener);
  const hooks = list;
  return () => {
    const i = hooks.indexOf(listener);
    if (i >= 0) hooks.splice(i, 1);
  };
}

/** The pipelines created and not yet disposed (nor collected). */
export function livePipelines(): readonly Pipeline[] {
  return [...alive()];
}

/** Throws when a live pipeline already has `name`: two would report contradictory metrics under it. */
export function assertNameFree(name: string): void {
  if (registry.live.get(name)?.deref() === undefined) return;
  throw new TypeError(
    `pipeline "${name}": a live pipeline already has this name (a client owns a pipeline named after it); dispose() or close() that one first, or choose another name: two pipelines of one name report contradictory metrics`,
  );
}

export function announce(pipeline: Pipeline): void {
  const ref = new WeakRef(pipeline);
  registry.live.set(pipeline.name, ref);
  registry.collected.register(pipeline, pipeline.name, ref);
  for (const listener of registry.listeners) listener(pipeline);
}

export function retire(pipeline: Pipeline): void {
  const ref = registry.live.get(pipeline.name);
  if (ref === undefined || ref.deref() !== pipeline) return;
  registry.live.delete(pipeline.name);
  registry.collected.unregister(ref);
  const hooks = registry.onDispose.get(pipeline);
  if (hooks === undefined) return;
  registry.onDispose.delete(pipeline);
  for (const hook of hooks.splice(0)) {
    try {
      hook();
    } catch (error) {
      // One observer failing to let go must not keep the others, or the disposal, from finishing.
      process.emitWarning(`a Keel pipeline dispose listener threw: ${String(error)}`, 'KeelWarning');
    }
  }
}
