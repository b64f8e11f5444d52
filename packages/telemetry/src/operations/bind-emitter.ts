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

// `name` is the inherited method that registers the wrapper.
function addWith(name: string, once: boolean): Add {
  return function keelBoundAdd(event, listener) {
    const inherited = Object.getPrototypeOf(this)[name] as Add;
    // Not a function: left to the inherited method, which throws Node's usual error.
    if (adding || typeof listener !== 'function') return inherited.call(this, event, listener);
    const wrapper = wrap(this, contexts.get(this) as Context, event, listener, once);
    adding = true;
    try {
      return inherited.call(this, event, wrapper);
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

// One set of methods shared by every bound emitter; `once` variants register through `on`/`prependListener`.
const PATCHES: ReadonlyArray<readonly [string, Add]> = [
  ['on', addWith('on', false)],
  ['addListener', addWith('addListener', false)],
  ['prependListener', addWith('prependListener', false)],
  ['once', addWith('on', true)],
  ['prependOnceListener', addWith('prependListener', true)],
];

/**
 * Makes every listener added to `emitter` from now on run in `ctx`, as `context.bind(ctx, emitter)` does,
 * for less: OpenTelemetry's binding builds a listener map and six closures per emitter, and a wrapper
 * plus two maps per listener; this installs shared methods that read the context from the emitter and
 * make one closure per listener added. Listeners added before are left as they are; removing a listener
 * by the function given works with EventEmitter's own methods. An emitter whose listener methods are
 * already its own (bound by someone else) gets OpenTelemetry's binding instead. The first binding wins.
 */
export function bindEmitter(ctx: Context, emitter: EventEmitter): void {
  const target = emitter as Bound;
  if (contexts.has(target)) return;
  for (const [name] of PATCHES) {
    if (Object.hasOwn(target, name)) {
      context.bind(ctx, emitter);
      return;
    }
  }
  contexts.set(target, ctx);
  for (const [name, method] of PATCHES) target[name] = method;
}
