import type { EventEmitter } from 'node:events';
import { type Context, context } from '@opentelemetry/api';

type Listener = (...args: unknown[]) => unknown;
/** A wrapper as EventEmitter's own `once` makes them: `.listener` is what `removeListener` matches. */
type Wrapper = Listener & { listener: Listener };
type Add = (this: EventEmitter, event: string | symbol, listener: Listener) => unknown;
// The emitter's own properties, as read and written here.
type Slots = Record<string, unknown>;

// Marks the methods a binding installs, so a second binding of the same emitter finds the first. Symbol.for,
// so a second installed copy of this package recognises them too.
const kBound = Symbol.for('keel.telemetry.bound-method');
type BoundAdd = Add & { [kBound]?: true };

// The inherited method registers the wrapper; were it to re-enter a patched method (none of Node's do),
// the wrapper must not be wrapped again, or `removeListener(event, listener)` could no longer find it.
let adding = false;

// The method `emitter` inherits under the same name registers the wrapper. The context is held by the
// method itself rather than in a slot of the emitter: measured, a property added to a request or response
// that Express has re-prototyped costs far more than a closure, and a WeakMap entry more than both.
function addWith(name: string, emitter: EventEmitter, ctx: Context): BoundAdd {
  const method: BoundAdd = function keelBoundAdd(this: EventEmitter, event, listener) {
    const add = Object.getPrototypeOf(this)[name] as Add;
    // Not a function: left to the inherited method, which throws Node's usual error. Called on another
    // emitter (the method copied over): that emitter is not bound.
    if (this !== emitter || adding || typeof listener !== 'function') return add.call(this, event, listener);
    const wrapper = wrap(emitter, ctx, event, listener);
    adding = true;
    try {
      return add.call(this, event, wrapper);
    } finally {
      adding = false;
    }
  };
  method[kBound] = true;
  return method;
}

/**
 * One closure per listener: it enters the context through the API, so whichever context manager is
 * registered decides how. It carries `.listener` as Node's once-wrappers do, so EventEmitter's own
 * `removeListener`/`off` (and `listeners()`, `listenerCount(event, listener)`) match the listener given.
 *
 * `once`/`prependOnceListener` are not overridden: EventEmitter's own register a once-wrapper (a function
 * whose `.listener` is the listener given) through `this.on`/`this.prependListener`, which land here. Its
 * wrapper then stands in for it: it matches the listener given, and removes itself when it fires (the
 * once-wrapper's own removal looks for itself, which is no longer listed, and finds nothing). So any
 * function carrying a function `.listener` is taken for such a wrapper, as EventEmitter's own
 * `removeListener` and `listeners()` already take it: it runs once. Installing two methods fewer per
 * emitter (two emitters per request) is a measurable share of an inbound request's cost.
 */
function wrap(emitter: EventEmitter, ctx: Context, event: string | symbol, listener: Listener): Wrapper {
  const inner = (listener as Partial<Wrapper>).listener;
  const once = typeof inner === 'function';
  let fired = false;
  const wrapper = function keelBoundListener(this: unknown, ...args: unknown[]) {
    if (once) {
      if (fired) return undefined;
      fired = true;
      emitter.removeListener(event, wrapper);
    }
    return context.with(ctx, listener, this, ...args);
  } as Wrapper;
  wrapper.listener = once ? inner : listener;
  return wrapper;
}

// The listener methods a binding installs. EventEmitter's `once` and `prependOnceListener` (and those of
// Node's streams, which inherit them) register through `this.on`/`this.prependListener`, so they need none.
const METHODS = ['on', 'addListener', 'prependListener'] as const;

// Someone else's binding shows as any of these being the emitter's own.
const LISTENER_METHODS = [...METHODS, 'once', 'prependOnceListener'];

/**
 * Makes every listener added to `emitter` from now on run in `ctx`, as `context.bind(ctx, emitter)` does,
 * for less: OpenTelemetry's binding builds a listener map and six closures per emitter, and a wrapper
 * plus two maps per listener; this installs three methods holding the context and makes one closure per
 * listener added. Listeners added before are left as they are; removing a listener by the function given
 * works with EventEmitter's own methods. The emitter gets the methods as own properties (nothing is
 * changed on any prototype), unless its listener methods are already its own (bound by someone else):
 * then it gets OpenTelemetry's binding. The first binding wins.
 */
export function bindEmitter(ctx: Context, emitter: EventEmitter): void {
  const target = emitter as unknown as Slots;
  for (const name of LISTENER_METHODS) {
    if (Object.hasOwn(target, name)) {
      if ((target[name] as Partial<BoundAdd> | undefined)?.[kBound] !== true) context.bind(ctx, emitter);
      return;
    }
  }
  for (const name of METHODS) target[name] = addWith(name, emitter, ctx);
}
