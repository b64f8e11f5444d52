import type { ServiceName } from '../protocol.js';
import { parsePrometheusText, type Sample } from './prom-text.js';

/** Every service's metrics at one instant. */
export interface Snapshot {
  /** `performance.now()` when the scrape started. */
  readonly at: number;
  readonly samples: ReadonlyMap<ServiceName, readonly Sample[]>;
}

export interface ScrapeTarget {
  readonly name: ServiceName;
  readonly metricsPort: number;
  /** Where the orchestrator reaches it: loopback unless the listeners bind one other address. */
  readonly host: string;
}

const SCRAPE_TIMEOUT_MS = 900;

/** `host:port` for a URL or a Prometheus target (IPv6 in brackets). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The address that reaches listeners bound to `bound`: loopback for the unspecified addresses. */
export function reachableHost(bound: string): string {
  if (bound === '0.0.0.0') return '127.0.0.1';
  if (bound === '::') return '::1';
  return bound;
}

/** Scrapes `/metrics` of every target, as Prometheus would; a target that does not answer reads as empty. */
export async function scrapeAll(targets: readonly ScrapeTarget[]): Promise<Snapshot> {
  const at = performance.now();
  const bodies = await Promise.all(
    targets.map(async (target) => {
      try {
        const res = await fetch(`http://${hostPort(target.host, target.metricsPort)}/metrics`, {
          signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS),
        });
        return parsePrometheusText(await res.text());
      } catch {
        return [];
      }
    }),
  );
  return { at, samples: new Map(targets.map((target, i) => [target.name, bodies[i]!])) };
}
