import type { HttpServerOperation, Telemetry } from '@keel/telemetry';
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
    if (state === undefined) return;
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

/** Attaches the state to `req` and starts recording the route template. */
export function attachState(req: object, op: HttpServerOperation, telemetry: Telemetry): RequestState {
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
  Object.defineProperty(req, 'route', routeDescriptor);
  Object.defineProperty(req, 'baseUrl', baseUrlDescriptor);
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
