import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DASHBOARDS } from './dashboards.js';
import { onPath } from './testing/processes.js';

const ROOT = new URL('../', import.meta.url);

async function yamlAt<T>(path: string): Promise<T> {
  return parse(await readFile(new URL(path, ROOT), 'utf8')) as T;
}

interface Service {
  image: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
  extra_hosts?: string[];
  environment?: Record<string, string>;
}
type Compose = { services: Record<'jaeger' | 'prometheus' | 'grafana', Service> };
type PrometheusConfig = {
  scrape_configs: { static_configs: { targets: string[]; labels: { service: string } }[] }[];
};

interface Datasource {
  name: string;
  type: string;
  uid: string;
  url: string;
  isDefault?: boolean;
  jsonData?: { exemplarTraceIdDestinations?: { name: string; datasourceUid: string }[] };
}

describe('the Grafana provisioning', () => {
  it('makes Prometheus the default datasource and sends its trace_id exemplars to the Jaeger datasource', async () => {
    const { datasources } = await yamlAt<{ datasources: Datasource[] }>(
      'provisioning/datasources/datasources.yaml',
    );
    const prometheus = datasources.find(({ type }) => type === 'prometheus')!;
    const jaeger = datasources.find(({ type }) => type === 'jaeger')!;
    expect(prometheus).toMatchObject({ isDefault: true, url: 'http://prometheus:9090' });
    expect(jaeger.url).toBe('http://jaeger:16686');
    expect(prometheus.jsonData?.exemplarTraceIdDestinations).toEqual([
      expect.objectContaining({ name: 'trace_id', datasourceUid: jaeger.uid }),
    ]);
  });

  it('loads every committed dashboard from the folder compose mounts the JSON in', async () => {
    const { providers } = await yamlAt<{ providers: { type: string; options: { path: string } }[] }>(
      'provisioning/dashboards/keel.yaml',
    );
    const compose = await yamlAt<Compose>('compose.yaml');
    expect(providers).toHaveLength(1);
    expect(providers[0]?.type).toBe('file');
    expect(compose.services.grafana.volumes).toContain(`./grafana:${providers[0]?.options.path}:ro`);
    expect(compose.services.grafana.volumes).toContain('./provisioning:/etc/grafana/provisioning:ro');
    const committed = (await readdir(new URL('grafana/', ROOT))).sort();
    expect(committed).toEqual(DASHBOARDS.map(({ file }) => file).sort());
  });
});

describe('compose.yaml', () => {
  it('runs Jaeger with OTLP/HTTP on 4318, Prometheus with exemplar storage, and anonymous-admin Grafana', async () => {
    const { services } = await yamlAt<Compose>('compose.yaml');
    expect(Object.keys(services).sort()).toEqual(['grafana', 'jaeger', 'prometheus']);
    expect(services.jaeger.ports).toEqual(
      expect.arrayContaining(['127.0.0.1:4318:4318', '127.0.0.1:16686:16686']),
    );
    expect(services.prometheus.command).toContain('--enable-feature=exemplar-storage');
    expect(services.prometheus.volumes).toContain('./prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(services.prometheus.extra_hosts).toContain('host.docker.internal:host-gateway');
    expect(services.grafana.environment).toMatchObject({
      GF_AUTH_ANONYMOUS_ENABLED: 'true',
      GF_AUTH_ANONYMOUS_ORG_ROLE: 'Admin',
    });
  });
});

describe('prometheus.yml', () => {
  it('scrapes the five demo services on the host at --metrics-port-base 9464..9468, each labelled', async () => {
    const config = await yamlAt<PrometheusConfig>('prometheus.yml');
    const targets = config.scrape_configs.flatMap((job) =>
      job.static_configs.map(({ targets, labels }) => [labels.service, ...targets]),
    );
    expect(targets).toEqual([
      ['gateway', 'host.docker.internal:9464'],
      ['orders', 'host.docker.internal:9465'],
      ['payments', 'host.docker.internal:9466'],
      ['inventory', 'host.docker.internal:9467'],
      ['notifications', 'host.docker.internal:9468'],
    ]);
  });

  const promtool = onPath('promtool');
  it.skipIf(promtool === undefined && process.env.CI !== 'true')('passes promtool check config', async () => {
    expect(promtool, 'promtool is not on PATH: apt-get install -y prometheus').toBeDefined();
    const { stdout } = await promisify(execFile)(promtool!, [
      'check',
      'config',
      new URL('prometheus.yml', ROOT).pathname,
    ]);
    expect(stdout).toContain('SUCCESS');
  });
  if (promtool === undefined && process.env.CI !== 'true') {
    console.warn('promtool check skipped: promtool is not on PATH (apt-get install -y prometheus)');
  }
});
