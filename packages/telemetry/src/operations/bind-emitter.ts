import type { EventEmitter } from 'node:events';
import { type Context, context } from '@opentelemetry/api';

// The context each bound emitter's later listeners run in. A WeakMap, not a property: adding a property
// to a request Express has re-prototyped costs microseconds (V8 makes a new hidden class each time).
const contexts = new WeakMap<EventEmitter, Context>();

type Listener = (...args: unknown[]) => unknown;
/** A wrapper as EventEmitter's own `once` makes them: `.listener` is what `removeListener` matches. */
type Wrapper = Listener & { listener: Listener };
type Add = (this: Bound, event: string | symbol, listener: Listener) => unknown;
type Bound = EventEmitter & Record<string, Add>;

// The inherited method registers the wrapper; were it to re-enter a patched method (none of Node's do),
// the wrapper must not be wrapped again, or `removeListener(event, listener)` could no longer find it.
let adding = false;

// `inherited(self)` is the method that registers the wrapper. An emitter that was never bound (one sharing
// a prototype with bound ones) gets the inherited method as it is.
function addWith(inherited: (self: Bound) => Add, once: boolean): Add {
  return function keelBoundAdd(event, listener) {
    const add = inherited(this);
    const ctx = contexts.get(this);
    // Not a function: left to the inherited method, which throws Node's usual error.
    if (ctx === undefined || adding || typeof listener !== 'function') return add.call(this, event, listener);
    const wrapper = wrap(this, ctx, event, listener, once);
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
 */
function wrap(
  emitter: Bound,
  ctx: Context,
  event: string | symbol,
  listener: Listener,
  once: boolean,
): Wrapper {
  let fired = false;
  const wrapper = function keelBoundListener(this: unknown, ...args: unknown[]) {
    if (once) {
      if (fired) return undefined;
      fired = true;
      emitter.removeListener(event, wrapper);
    }
    return context.with(ctx, listener, this, ...args);
  } as Wrapper;
  wrapper.listener = listener;
  return wrapper;
}

// The listener methods a binding installs, and the inherited method each registers its wrapper with:
// `once` variants register through `on`/`prependListener`.
const METHODS = [
  ['on', 'on', false],
  ['addListener', 'addListener', false],
  ['prependListener', 'prependListener', false],
  ['once', 'on', true],
  ['prependOnceListener', 'prependListener', true],
] as const;

type Methods = ReadonlyArray<readonly [string, Add]>;

// Own methods, one shared set: they look up what they override on the emitter's prototype.
const OWN: Methods = METHODS.map(([name, via, once]) => [
  name,
  addWith((self) => Object.getPrototypeOf(self)[via] as Add, once),
]);

// Methods `bindPrototype` installed; an emitter that inherits them needs no methods of its own.
const installed = new WeakSet<Add>();
const prototypes = new WeakSet<object>();

/**
 * Installs the binding's listener methods on a prototype the caller owns, so that `bindEmitter` on an
 * emitter inheriting from it only records the context, adding nothing to the emitter. For prototypes an
 * application hands out per instance, such as Express's `app.request` and `app.response` (its documented
 * extension points, inherited by mounted sub-apps): V8 gives every object whose prototype was replaced —
 * as Express does to each request and response — a map of its own, and each property then added to it
 * copies that map, microseconds per request plus old-generation garbage. Emitters that inherit these
 * methods but are never bound behave exactly as before. Returns false, changing nothing, for a class's own
 * prototype (never patched: that would change every instance in the process) or one whose listener
 * methods are already its own.
 */
export function bindPrototype(proto: object): boolean {
  if (prototypes.has(proto)) return true;
  if (isClassPrototype(proto) || METHODS.some(([name]) => Object.hasOwn(proto, name))) return false;
  for (const [name, via, once] of METHODS) {
    const method = addWith(() => Object.getPrototypeOf(proto)[via] as Add, once);
    installed.add(method);
    Object.defineProperty(proto, name, { configurable: true, writable: true, value: method });
  }
  prototypes.add(proto);
  return true;
}

/** True when `proto` is a class's own prototype, or null. */
function isClassPrototype(proto: { constructor?: unknown } | null): boolean {
  return (
    proto === null ||
    (Object.hasOwn(proto, 'constructor') &&
      typeof proto.constructor === 'function' &&
      proto.constructor.prototype === proto)
  );
}

/**
 * Makes every listener added to `emitter` from now on run in `ctx`, as `context.bind(ctx, emitter)` does,
 * for less: OpenTelemetry's binding builds a listener map and six closures per emitter, and a wrapper
 * plus two maps per listener; this reads the context from the emitter and makes one closure per listener
 * added. Listeners added before are left as they are; removing a listener by the function given works
 * with EventEmitter's own methods. An emitter inheriting methods from `bindPrototype` gets nothing of its
 * own; any other gets shared methods as own properties, unless its listener methods are already its own
 * (bound by someone else): then it gets OpenTelemetry's binding. The first binding wins.
 */
export function bindEmitter(ctx: Context, emitter: EventEmitter): void {
  const target = emitter as Bound;
  if (contexts.has(target)) return;
  if (installed.has(target.on) && !Object.hasOwn(target, 'on')) {
    contexts.set(target, ctx);
    return;
  }
  for (const [name] of METHODS) {
    if (Object.hasOwn(target, name)) {
      context.bind(ctx, emitter);
      return;
    }
  }
  contexts.set(target, ctx);
  for (const [name, method] of OWN as Methods) target[name] = method;
}
