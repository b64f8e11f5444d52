import type { EventEmitter } from 'node:events';
import { type Context, context } from '@opentelemetry/api';

// The context each bound emitter's later listeners run in, in one symbol-keyed slot of the emitter (as the
// request's exchange is kept on its response). Symbol.for, so a second installed copy of this package
// reads the same slot.
const kContext = Symbol.for('keel.telemetry.context');

type Listener = (...args: unknown[]) => unknown;
/** A wrapper as EventEmitter's own `once` makes them: `.listener` is what `removeListener` matches. */
type Wrapper = Listener & { listener: Listener };
type Add = (this: Bound, event: string | symbol, listener: Listener) => unknown;
type Bound = EventEmitter & Record<string, Add> & { [kContext]?: Context };

// The inherited method registers the wrapper; were it to re-enter a patched method (none of Node's do),
// the wrapper must not be wrapped again, or `removeListener(event, listener)` could no longer find it.
let adding = false;

// The method the emitter inherits under the same name registers the wrapper.
function addWith(name: string): Add {
  return function keelBoundAdd(event, listener) {
    const add = Object.getPrototypeOf(this)[name] as Add;
    const ctx = this[kContext];
    // Not a function: left to the inherited method, which throws Node's usual error.
    if (ctx === undefined || adding || typeof listener !== 'function') return add.call(this, event, listener);
    const wrapper = wrap(this, ctx, event, listener);
    adding = true;
    try {
      return add.call(this, event, wrapper);
    } finally {
      adding = false;
    }
  };
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
function wrap(emitter: Bound, ctx: Context, event: string | symbol, listener: Listener): Wrapper {
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

type Methods = ReadonlyArray<readonly [string, Add]>;

// Own methods, one shared set: they look up what they override on the emitter's prototype.
const OWN: Methods = METHODS.map((name) => [name, addWith(name)]);

/**
 * Makes every listener added to `emitter` from now on run in `ctx`, as `context.bind(ctx, emitter)` does,
 * for less: OpenTelemetry's binding builds a listener map and six closures per emitter, and a wrapper
 * plus two maps per listener; this reads the context from the emitter and makes one closure per listener
 * added. Listeners added before are left as they are; removing a listener by the function given works
 * with EventEmitter's own methods. The emitter gets the shared methods as own properties (nothing is
 * changed on any prototype), unless its listener methods are already its own (bound by someone else):
 * then it gets OpenTelemetry's binding. The first binding wins.
 */
export function bindEmitter(ctx: Context, emitter: EventEmitter): void {
  const target = emitter as Bound;
  if (target[kContext] !== undefined) return;
  for (const name of LISTENER_METHODS) {
    if (Object.hasOwn(target, name)) {
      context.bind(ctx, emitter);
      return;
    }
  }
  target[kContext] = ctx;
  for (const [name, method] of OWN as Methods) target[name] = method;
}
