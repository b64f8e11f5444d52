import { tracingChannel } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ExchangeState, exchangeState } from '@keel/telemetry/adapter';
import { joinTemplate, routePath, segmentRange, segments } from './route-template.js';

/** What Express 5's router publishes before each handler runs (router ≥ 2.3, its README's "Diagnostics"). */
interface RouterEvent {
  readonly req?: IncomingMessage & { baseUrl?: unknown; route?: { stack?: unknown } };
  readonly res?: ServerResponse;
  readonly layer?: unknown;
  /** The path pattern that matched: a route handler's route path, or the path a middleware or router was mounted at. */
  readonly route?: unknown;
  /** Set for `router.param()` callbacks only. */
  readonly param?: unknown;
}

/**
 * The route template of one request, assembled from the router's `express.router.request` tracing
 * channel: each mount's pattern as it is entered (keyed by the `req.baseUrl` it produced), and the route's
 * pattern when one of its handlers runs. Only patterns ever go into it; a raw URL value never does.
 */
export class RouteRecorder implements ExchangeState {
  error: unknown = undefined;
  readonly #req: IncomingMessage & { baseUrl?: unknown; route?: { path?: unknown } };
  /** The mount prefixes entered, as matched (`raws`, `req.baseUrl`) and as patterns (`templates`). */
  readonly #raws: string[];
  readonly #templates: string[];
  #route: string | undefined = undefined;
  #heard = false;

  constructor(req: IncomingMessage) {
    this.#req = req;
    const base = baseUrlOf(req);
    // Installed on the app, keel() starts at the root. Installed under a mount, what that mount matched is
    // known only as a raw value, so its part of the template is left out rather than guessed.
    this.#raws = [base];
    this.#templates = [''];
  }

  /**
   * The full template of the last route whose handler ran; undefined when none did. When the router
   * published nothing for this request (Express 4, or a router older than 2.3), an app-level route's path
   * as Express left it on `req.route`, and otherwise nothing: never a raw path.
   */
  get route(): string | undefined {
    if (this.#route !== undefined || this.#heard) return this.#route;
    const req = this.#req;
    return baseUrlOf(req) === '' ? routePath(req.route?.path) : undefined;
  }

  /** One router event for this request. */
  heard(event: RouterEvent): void {
    const path = routePath(event.route);
    if (path === undefined || event.param !== undefined) return;
    this.#heard = true;
    const base = baseUrlOf(this.#req);
    const stack = (event.req?.route as { stack?: unknown } | undefined)?.stack;
    if (Array.isArray(stack) && stack.includes(event.layer)) {
      this.#route = joinTemplate(this.#templates[this.#level(base)] ?? '', path);
      return;
    }
    const mount = path.endsWith('/') ? path.slice(0, -1) : path;
    if (mount === '') this.#level(base);
    else this.#enter(base, mount, segmentRange(event.route));
  }

  /** The deepest level entered at `base`, dropping those below it (routing has left them). */
  #level(base: string): number {
    const raws = this.#raws;
    let i = raws.length - 1;
    while (i > 0 && raws[i] !== base) i--;
    if (raws[i] !== base) this.#reset(base, '');
    else this.#truncate(i);
    return raws.length - 1;
  }

  /**
   * A mount entered at `base` with pattern `mount`. The router publishes only the prefix it produced, so
   * the level it was entered under is the deepest one that `base` extends by as many segments as the
   * pattern matches (a sibling mount after one that called `next()` extends the same parent, not it).
   */
  #enter(base: string, mount: string, [fewest, most]: readonly [number, number]): void {
    const raws = this.#raws;
    const depth = segments(base);
    let parent = -1;
    let deepest = -1;
    for (let i = raws.length - 1; i >= 0; i--) {
      const raw = raws[i] ?? '';
      if (!extendsPrefix(base, raw)) continue;
      if (deepest === -1) deepest = i;
      const added = depth - segments(raw);
      if (added >= fewest && added <= most) {
        parent = i;
        break;
      }
    }
    // No level matches the pattern's length (a pattern this cannot measure): the deepest prefix.
    if (parent === -1) parent = deepest;
    if (parent === -1) {
      this.#reset(base, mount);
      return;
    }
    this.#truncate(parent);
    raws.push(base);
    this.#templates.push((this.#templates[parent] ?? '') + mount);
  }

  #truncate(level: number): void {
    this.#raws.length = level + 1;
    this.#templates.length = level + 1;
  }

  /** Routing reached a prefix keel() never saw entered: what lies above it is left out of the template. */
  #reset(base: string, template: string): void {
    this.#raws.length = 0;
    this.#templates.length = 0;
    this.#raws.push(base);
    this.#templates.push(template);
  }
}

function baseUrlOf(req: object): string {
  const base = (req as { baseUrl?: unknown }).baseUrl;
  return typeof base === 'string' ? base : '';
}

/** Whether `base` is `prefix` followed by at least one more segment. */
function extendsPrefix(base: string, prefix: string): boolean {
  return (
    base.length > prefix.length &&
    base.startsWith(prefix) &&
    (prefix === '' || prefix.endsWith('/') || base[prefix.length] === '/')
  );
}

function onRouterStart(message: unknown): void {
  const event = message as RouterEvent;
  if (event.res === undefined) return;
  const state = exchangeState(event.res);
  if (state instanceof RouteRecorder) state.heard(event);
}

let listening = false;

/**
 * Starts listening to the router's tracing channel, once per process. Listening makes the router publish
 * for every app in the process; requests keel() does not track are looked up and left alone.
 */
export function listenToRouter(): void {
  if (listening) return;
  listening = true;
  tracingChannel('express.router.request').start.subscribe(onRouterStart);
}
