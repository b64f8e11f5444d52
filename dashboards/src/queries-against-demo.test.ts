// Keeps the dashboards honest: runs the demo under a real Prometheus and executes every panel query of
// every dashboard, variables substituted the way Grafana does, through the HTTP API. A query that does
// not parse, or returns nothing, fails here with the dashboard, the panel and the expression named.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARDS } from './dashboards.js';
import { labelValuesQuery, type PanelQuery, panelQueries } from './panel-queries.js';
import { onPath, type Started, start } from './testing/processes.js';
import type { ExemplarSeries, RangeSeries, TestPrometheus } from './testing/prometheus.js';
import { startPrometheus } from './testing/prometheus.js';

const DEMO = fileURLToPath(new URL('../../examples/demo/dist/main.js', import.meta.url));
/** Seconds of demo load: its four phases (healthy, degraded, outage, recovery) get a quarter each. */
const DEMO_DURATION_S = 16;
const SCRAPE_INTERVAL_S = 1;
/** What Grafana makes `$__rate_interval` at a 1 s scrape interval and a 1 s step: four scrapes. */
const RATE_INTERVAL = `${4 * SCRAPE_INTERVAL_S}s`;
const CI = process.env.CI === 'true';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 5672) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const prometheusBinary = onPath('prometheus');
const demoBuilt = existsSync(DEMO);
const rabbit = await reachable(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
/** The services the demo runs: without RabbitMQ it skips the messaging leg, inventory and notifications. */
const SERVICES = rabbit
  ? ['gateway', 'inventory', 'notifications', 'orders', 'payments']
  : ['gateway', 'orders', 'payments'];
const missing = [
  ...(prometheusBinary === undefined ? ['prometheus is not on PATH (apt-get install -y prometheus)'] : []),
  ...(demoBuilt ? [] : [`the demo is not built (${DEMO}; run npx tsc -b)`]),
];

/**
 * Grafana's value of an All selection of a multi-value variable in a Prometheus query: an alternation of
 * the values, each regex-escaped with the backslash doubled, as the PromQL string literal needs.
 */
function allOf(values: readonly string[]): string {
  const escaped = values.map((value) => value.replace(/[\\^$.*+?()[\]{}|]/g, '\\\\$&'));
  return escaped.length === 1 ? escaped[0]! : `(${escaped.join('|')})`;
}

interface Window {
  readonly start: number;
  readonly end: number;
}

describe.skipIf(missing.length > 0)(
  'every dashboard query against a real Prometheus scraping the demo',
  () => {
    let dir: string;
    let prometheus: TestPrometheus | undefined;
    let demo: Started | undefined;
    let window: Window;
    const variables = new Map<string, readonly string[]>();

    const substitute = (expr: string): string =>
      expr
        .replaceAll('$__rate_interval', RATE_INTERVAL)
        .replaceAll('$__interval', `${SCRAPE_INTERVAL_S}s`)
        .replaceAll('$__range', `${Math.ceil(window.end - window.start)}s`)
        .replace(/\$(\w+)/g, (whole, name: string) => {
          const values = variables.get(name);
          return values === undefined ? whole : allOf(values);
        });

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'keel-dashboards-'));
      const targetsFile = join(dir, 'targets.json');
      prometheus = await startPrometheus(prometheusBinary!, dir, targetsFile);
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
      delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
      const startS = Date.now() / 1000;
      demo = start(
        process.execPath,
        [DEMO, '--duration', String(DEMO_DURATION_S), '--targets-file', targetsFile],
        env,
      );
      const exitCode = await demo.exited(DEMO_DURATION_S * 1000 + 40_000);
      if (exitCode !== 0) throw new Error(`the demo exited with ${exitCode}:\n${demo.output()}`);
      window = { start: startS, end: Date.now() / 1000 };
      const targets = JSON.parse(await readFile(targetsFile, 'utf8')) as unknown[];
      expect(targets).toHaveLength(SERVICES.length);

      // The variables, resolved in order like Grafana does: `pipeline`'s query uses `$service`.
      for (const { build } of DASHBOARDS) {
        for (const variable of build().templating?.list ?? []) {
          if (variable.type !== 'query' || variables.has(variable.name)) continue;
          const parsed = labelValuesQuery(String(variable.query));
          if (parsed === undefined) throw new Error(`variable ${variable.name}: not label_values(…)`);
          const values = await prometheus.get<string[]>(`label/${parsed.label}/values`, {
            'match[]': substitute(parsed.selector),
            start: String(window.start),
            end: String(window.end),
          });
          variables.set(variable.name, [...values.data].sort());
        }
      }
    }, 90_000);

    afterAll(async () => {
      await demo?.stop();
      await prometheus?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('fills the $service variable with the demo services', () => {
      expect(variables.get('service')).toEqual(SERVICES);
    });

    it.runIf(CI)('has RabbitMQ, which CI requires for the messaging panels', () => {
      expect(rabbit, 'RabbitMQ is not reachable at AMQP_URL (default 127.0.0.1:5672)').toBe(true);
    });

    it('fills the $pipeline variable with the pipelines of the services', () => {
      expect(variables.get('pipeline')?.length).toBeGreaterThan(0);
    });

    const where = (query: PanelQuery, expr: string): string =>
      `${query.dashboard} › ${query.panel} › ${query.refId}\n  ${expr}`;

    /** The panel's series over the run, each as its finite values; asserts the query parsed. */
    const range = async (query: PanelQuery): Promise<number[][]> => {
      const expr = substitute(query.expr);
      const response = await prometheus!.get<{ result: RangeSeries[] }>('query_range', {
        query: expr,
        start: String(window.start),
        end: String(window.end),
        step: `${SCRAPE_INTERVAL_S}s`,
      });
      expect(response.status, `${where(query, expr)}\n  ${response.error ?? ''}`).toBe('success');
      return response.data.result
        .map(({ values }) => values.map(([, value]) => Number(value)).filter(Number.isFinite))
        .filter((values) => values.length > 0);
    };

    const returnsData = async (query: PanelQuery): Promise<void> => {
      const series = await range(query);
      expect(series.length, `${where(query, substitute(query.expr))}\n  returned no data`).toBeGreaterThan(0);
    };

    // What Grafana asks for to draw a panel's exemplars: the panel's own expression.
    const hasExemplars = async (query: PanelQuery): Promise<void> => {
      const expr = substitute(query.expr);
      const response = await prometheus!.get<ExemplarSeries[]>('query_exemplars', {
        query: expr,
        start: String(window.start),
        end: String(window.end),
      });
      expect(response.status, `${where(query, expr)}\n  ${response.error ?? ''}`).toBe('success');
      const traceIds = response.data.flatMap(({ exemplars }) =>
        exemplars.map(({ labels }) => labels.trace_id),
      );
      expect(traceIds.length, `${where(query, expr)}\n  has no exemplars`).toBeGreaterThan(0);
      expect(traceIds[0]).toMatch(/^[0-9a-f]{32}$/);
    };

    const queries = DASHBOARDS.flatMap(({ build }) => panelQueries(build()));
    const messaging = (query: PanelQuery): boolean => query.expr.includes('messaging_');
    const title = '$dashboard › $panel › $refId';

    it.each(queries.filter((query) => !messaging(query)))(`${title} parses and returns data`, returnsData);
    it.each(queries.filter((query) => !messaging(query) && query.exemplar))(
      `${title} has trace exemplars to draw`,
      hasExemplars,
    );

    // The demo degrades payments, then takes it down, and limits GET /catalog at the gateway: the
    // Resilience panels must show that, not merely exist. Peaks, not values at one instant, so the test does not depend on phase timing.
    // Budget-exhausted retries count too: their series exists at 0 from the pipeline's start, so even the
    // one burst in which the budget drains is an increase rate() sees.
    it.each([
      { panel: 'Circuit breakers › Breaker state', refId: 'A', least: 2, what: 'the breaker open (2)' },
      { panel: 'Retries › First attempts vs retries / s', refId: 'B', least: 0.1, what: 'retries' },
      {
        panel: 'Retries › Budget-exhausted retries / s',
        refId: 'A',
        least: 0.01,
        what: 'retries the budget refused',
      },
      {
        panel: 'Rejections, timeouts and outcomes › Rejections by reason / s',
        refId: 'A',
        least: 0.1,
        what: 'circuit-open rejections',
      },
      {
        panel: 'Rejections, timeouts and outcomes › Rejections by reason / s',
        refId: 'B',
        least: 0.1,
        what: 'inbound 429s',
      },
      { panel: 'Rejections, timeouts and outcomes › Timeouts / s', refId: 'A', least: 0.1, what: 'timeouts' },
    ])('Resilience › $panel › $refId shows $what', async ({ panel, refId, least }) => {
      const query = queries.find(
        (q) => q.dashboard === 'Keel / Resilience' && q.panel === panel && q.refId === refId,
      );
      expect(query, panel).toBeDefined();
      const peak = Math.max(0, ...(await range(query!)).flat());
      expect(peak, where(query!, substitute(query!.expr))).toBeGreaterThanOrEqual(least);
    });

    describe.skipIf(!rabbit && !CI)('the messaging panels', () => {
      it.each(queries.filter(messaging))(`${title} parses and returns data`, returnsData);
      it.each(queries.filter((query) => messaging(query) && query.exemplar))(
        `${title} has trace exemplars to draw`,
        hasExemplars,
      );
    });
  },
);

if (missing.length > 0 && CI) {
  describe('every dashboard query against a real Prometheus scraping the demo', () => {
    it('has Prometheus and the built demo, which CI requires', () => {
      expect.fail(missing.join('; '));
    });
  });
} else if (missing.length > 0) {
  console.warn(`Dashboard query test skipped: ${missing.join('; ')}`);
} else if (!rabbit) {
  console.warn('Dashboard query test: RabbitMQ is not reachable, so the messaging panels are not checked');
}
