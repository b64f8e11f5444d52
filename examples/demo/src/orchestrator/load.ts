// Open-loop load through the gateway: requests leave at a fixed rate whether or not earlier ones answered.
import type { Phase } from '../protocol.js';

/** What the load generator saw of one route in one phase. */
export interface RouteStats {
  sent: number;
  ok: number;
  /** Answers by status; 0 is a request that got no answer. */
  statuses: Record<string, number>;
  /** Latencies in ms (a bounded sample). */
  latencies: number[];
}

const MAX_SAMPLES = 20_000;
const TICK_MS = 10;
const REQUEST_TIMEOUT_MS = 5_000;

export type Route = 'orders' | 'catalog';

export interface LoadGenerator {
  /** Per phase, per route. */
  readonly stats: Map<Phase, Record<Route, RouteStats>>;
  /** Requests sent and answered 2xx in total, for the live view. */
  readonly totals: { sent: number; ok: number; inFlight: number };
  setPhase(phase: Phase): void;
  /** Stops sending and waits (bounded) for the requests in flight. */
  stop(): Promise<void>;
}

function emptyRoute(): RouteStats {
  return { sent: 0, ok: 0, statuses: {}, latencies: [] };
}

function record(stats: RouteStats, status: number, ms: number): void {
  if (status >= 200 && status < 300) stats.ok++;
  stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
  if (stats.latencies.length < MAX_SAMPLES) stats.latencies.push(ms);
  else stats.latencies[Math.floor(Math.random() * MAX_SAMPLES)] = ms;
}

/**
 * Sends `rate` requests a second to the gateway: one in `catalogEvery` is `GET /catalog`, the rest
 * `POST /orders`.
 */
export function startLoad(baseUrl: string, rate: number, phase: Phase, catalogEvery = 5): LoadGenerator {
  const stats = new Map<Phase, Record<Route, RouteStats>>();
  const totals = { sent: 0, ok: 0, inFlight: 0 };
  let current = phase;
  const start = performance.now();
  let idle: (() => void) | undefined;

  const bucket = (): Record<Route, RouteStats> => {
    let entry = stats.get(current);
    if (entry === undefined) {
      entry = { orders: emptyRoute(), catalog: emptyRoute() };
      stats.set(current, entry);
    }
    return entry;
  };

  const fire = (n: number): void => {
    const route: Route = n % catalogEvery === catalogEvery - 1 ? 'catalog' : 'orders';
    const target = bucket()[route];
    target.sent++;
    totals.sent++;
    totals.inFlight++;
    const t0 = performance.now();
    const request =
      route === 'orders'
        ? fetch(`${baseUrl}/orders`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ sku: n % 2 === 0 ? 'kettle' : 'teapot', quantity: 1 + (n % 3) }),
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          })
        : fetch(`${baseUrl}/catalog`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    request
      .then(async (res) => {
        await res.arrayBuffer();
        return res.status;
      })
      .catch(() => 0)
      .then((status) => {
        record(target, status, performance.now() - t0);
        if (status >= 200 && status < 300) totals.ok++;
        totals.inFlight--;
        if (totals.inFlight === 0) idle?.();
      });
  };

  let sent = 0;
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - start) / 1_000) * rate);
    while (sent < due) fire(sent++);
  }, TICK_MS);

  return {
    stats,
    totals,
    setPhase(next) {
      current = next;
    },
    async stop() {
      clearInterval(timer);
      if (totals.inFlight === 0) return;
      await new Promise<void>((resolve) => {
        idle = resolve;
        setTimeout(resolve, REQUEST_TIMEOUT_MS + 500).unref();
      });
    },
  };
}
