import type { Telemetry } from '@keel/telemetry';
import { bindPrototype, type HttpServerOperation } from '@keel/telemetry/adapter';
import { joinTemplate, mountTemplate, routePath } from './route-template.js';

/** What `keel()` keeps on a request for the error handler and the end of the response. */
export interface RequestState {
  readonly op: HttpServerOperation;
  readonly telemetry: Telemetry;
  /** The error that reached `keelErrorHandler` (or a Keel rejection made by this package). */
  error: unknown;
  /** The full route template, captured when the route matched. */
  route: string | undefined;
  /** The `req.route` Express assigned. */
  matched: unknown;
  /** Mount prefixes entered so far, as matched (`raws`) and as patterns (`templates`); index 0 is where keel() runs. */
  readonly raws: string[];
  readonly templates: string[];
}

// A WeakMap, not a property of the request: adding a property to a request Express has re-prototyped
// costs microseconds. Kept under a Symbol.for key so a second installed copy of this package shares it.
const registry = globalThis as { [key: symbol]: WeakMap<object, RequestState> | undefined };
const kStates = Symbol.for('keel.express.requests');
const states: WeakMap<object, RequestState> = registry[kStates] ?? new WeakMap();
registry[kStates] = states;

type Carrier = { baseUrl?: unknown; params?: unknown };

/** The state `keel()` attached to `req`, if it ran for this request. */
export function requestState(req: object): RequestState | undefined {
  return states.get(req);
}

// Shared accessors (no closure per request) that let Express set req.route and req.baseUrl as usual
// while the template is recorded at the moment each is set.
const routeDescriptor: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: Carrier) {
    return states.get(this)?.matched;
  },
  set(this: Carrier, route: unknown) {
    const state = states.get(this);
    if (state === undefined) {
      // A request keel() did not see (installed on the app's prototype, the accessor is inherited by
      // every request of the app): the plain property Express meant to set.
      Object.defineProperty(this, 'route', {
        configurable: true,
        enumerable: true,
        writable: true,
        value: route,
      });
      return;
    }
    state.matched = route;
    const path = routePath((route as { path?: unknown } | undefined)?.path);
    if (path !== undefined) state.route = joinTemplate(state.templates.at(-1) ?? '', path);
  },
};

const baseUrlDescriptor: PropertyDescriptor = {
  configurable: true,
  enumerable: true,
  get(this: Carrier) {
    return states.get(this)?.raws.at(-1) ?? '';
  },
  set(this: Carrier, value: unknown) {
    const state = states.get(this);
    if (state !== undefined) enterBase(state, typeof value === 'string' ? value : '', this.params);
  },
};

// App prototypes (`app.request`) that carry the route accessor, and those found not to be an app's.
const extended = new WeakSet<object>();
const foreign = new WeakSet<object>();

/**
 * Prepares the app's own request and response prototypes once: the route accessor on `app.request`, and
 * the context binding's listener methods on both (`bindPrototype`). These are Express's documented
 * per-app extension points, inherited by apps mounted in the app and by nothing else. Done per request,
 * the same definitions would each copy the request's map (Express re-prototypes every request).
 * False when the request's prototype is not an Express app's (or already has a `route` of its own).
 */
function extendApp(req: object, res: object): boolean {
  const proto = Object.getPrototypeOf(req) as object | null;
  if (proto === null || foreign.has(proto)) return false;
  if (extended.has(proto)) return true;
  const resProto = Object.getPrototypeOf(res) as object | null;
  const isApp =
    Object.hasOwn(proto, 'app') &&
    !Object.hasOwn(proto, 'route') &&
    resProto !== null &&
    Object.hasOwn(resProto, 'app') &&
    bindPrototype(proto) &&
    bindPrototype(resProto);
  if (!isApp) {
    foreign.add(proto);
    return false;
  }
  Object.defineProperty(proto, 'route', routeDescriptor);
  extended.add(proto);
  return true;
}

/** Attaches the state to `req` and starts recording the route template. */
export function attachState(
  req: object,
  res: object,
  op: HttpServerOperation,
  telemetry: Telemetry,
): RequestState {
  const base = typeof (req as Carrier).baseUrl === 'string' ? ((req as Carrier).baseUrl as string) : '';
  const state: RequestState = {
    op,
    telemetry,
    error: undefined,
    route: undefined,
    matched: undefined,
    raws: [base],
    templates: [base],
  };
  states.set(req, state);
  // Express has already set baseUrl as the request's own property, so its accessor must be the request's.
  // Redefining it also turns the request into a dictionary, which is kept on purpose (see toDictionary).
  Object.defineProperty(req, 'baseUrl', baseUrlDescriptor);
  toDictionary(res, 'sendDate');
  if (!extendApp(req, res)) Object.defineProperty(req, 'route', routeDescriptor);
  return state;
}

function enterBase(state: RequestState, value: string, params: unknown): void {
  const { raws, templates } = state;
  let i = raws.length - 1;
  while (i > 0 && raws[i] !== value && !isPrefix(raws[i] ?? '', value)) i--;
  raws.length = i + 1;
  templates.length = i + 1;
  const parent = raws[i] ?? '';
  if (parent === value) return;
  if (!isPrefix(parent, value)) {
    // Routing left the place keel() was installed: nothing to template against.
    raws[0] = value;
    templates[0] = value;
    return;
  }
  raws.push(value);
  templates.push((templates[i] ?? '') + mountTemplate(value.slice(parent.length), params));
}

function isPrefix(prefix: string, value: string): boolean {
  return (
    value.length > prefix.length &&
    value.startsWith(prefix) &&
    (prefix === '' || prefix.endsWith('/') || value[prefix.length] === '/')
  );
}

/**
 * Turns an object Express re-prototyped into a dictionary-mode object, by deleting one of its own plain
 * data properties and assigning it again (same value, same attributes; only its place in key order
 * changes). Express replaces the prototype of every request and response, and V8 then gives each of them
 * a map of its own: every property Node or Express adds later copies that map, and every property read
 * in Node's http code and Express misses V8's inline caches, which never see the same map twice. As a
 * dictionary the object is read and extended through one generic path instead. Measured over HTTP
 * (2026-11-29, Express 5, AMD EPYC, 2 cores, alternating runs): `keel()` with its access log went from
 * 0.69-0.71x bare Express to 0.79-0.86x, and without the log from 0.71-0.74x to 0.86-0.92x. The request
 * gets the same from its `baseUrl` accessor; keeping it fast instead measured slower (0.65-0.66x against
 * 0.68-0.71x). Objects whose prototype was not replaced (plain `node:http`) share maps, and stay as they are.
 */
function toDictionary(target: object, key: string): void {
  const own = Object.getOwnPropertyDescriptor(target, key);
  if (own === undefined || !('value' in own) || !own.writable || !own.enumerable || !own.configurable) return;
  const record = target as Record<string, unknown>;
  delete record[key];
  record[key] = own.value;
}
