import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPath } from '../testing/on-path.js';
import { createMetrics } from './create-metrics.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

const prometheus = onPath('prometheus');
const missing = prometheus === undefined;

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

async function freePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function poll<T>(read: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('timed out waiting for Prometheus');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe.skipIf(missing)('a real Prometheus scraping metricsText', () => {
  const served: string[] = [];
  let server: Server;
  let child: ChildProcess;
  let dir: string;
  let api: string;

  beforeAll(async () => {
    const metrics = createMetrics();
    metrics.httpServerDuration.record(
      { http_request_method: 'GET', http_route: '/users/:id' },
      0.3,
      TRACE_ID,
    );
    metrics.messagingConsumed.increment({ messaging_system: 'rabbitmq' }, TRACE_ID);
    server = createServer((req, res) => {
      void metrics.metricsText(req.headers.accept).then(({ contentType, body }) => {
        served.push(contentType);
        res.writeHead(200, { 'content-type': contentType }).end(body);
      });
    });
    const target = await listen(server);
    const webPort = await freePort();
    api = `http://127.0.0.1:${webPort}/api/v1`;
    dir = await mkdtemp(join(tmpdir(), 'keel-prometheus-'));
    const config = `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: keel\n    static_configs: [{ targets: ['127.0.0.1:${target}'] }]\n`;
    await writeFile(join(dir, 'prometheus.yml'), config);
    child = spawn(
      prometheus ?? 'prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${webPort}`,
        '--enable-feature=exemplar-storage',
      ],
      { stdio: 'ignore' },
    );
  });

  afterAll(async () => {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await new Promise((resolve) => server?.close(resolve));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('negotiates OpenMetrics, scrapes without error and stores the trace exemplars', {
    timeout: 30_000,
  }, async () => {
    type Exemplars = {
      data: { seriesLabels: Record<string, string>; exemplars: { labels: { trace_id: string } }[] }[];
    };
    const query = encodeURIComponent(
      '{__name__=~"http_server_request_duration_seconds_bucket|messaging_client_consumed_messages_total"}',
    );
    const found = await poll(async () => {
      const response = (await (
        await fetch(`${api}/query_exemplars?query=${query}&start=0&end=${Date.now() / 1000 + 60}`)
      ).json()) as Exemplars;
      return response.data.length === 2 ? response.data : undefined;
    }, 20_000);
    const targets = (await (await fetch(`${api}/targets`)).json()) as {
      data: { activeTargets: { health: string; lastError: string }[] };
    };
    expect(targets.data.activeTargets).toMatchObject([{ health: 'up', lastError: '' }]);
    expect(served[0]).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(
      found
        .map(({ seriesLabels, exemplars }) => [seriesLabels.__name__, exemplars[0]?.labels.trace_id])
        .sort(),
    ).toEqual([
      ['http_server_request_duration_seconds_bucket', TRACE_ID],
      ['messaging_client_consumed_messages_total', TRACE_ID],
    ]);
  });
});

if (missing && process.env.CI === 'true') {
  describe('a real Prometheus scraping metricsText', () => {
    it('finds prometheus on PATH, which CI requires', () => {
      expect.fail(
        'prometheus is not on PATH: install Debian\'s "prometheus" package (apt-get install -y prometheus)',
      );
    });
  });
} else if (missing) {
  console.warn('Prometheus scrape test skipped: prometheus is not on PATH (apt-get install -y prometheus)');
}
