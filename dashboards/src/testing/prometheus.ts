import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, poll, type Started, start } from './processes.js';

/** A Prometheus answer: `status` is `success` or `error`, with `error` saying why. */
export interface ApiResponse<T> {
  readonly status: 'success' | 'error';
  readonly data: T;
  readonly error?: string;
  readonly errorType?: string;
}

/** One series of a range query. */
export interface RangeSeries {
  readonly metric: Record<string, string>;
  readonly values: readonly [number, string][];
}

/** One series' exemplars from `/api/v1/query_exemplars`. */
export interface ExemplarSeries {
  readonly seriesLabels: Record<string, string>;
  readonly exemplars: readonly { labels: Record<string, string>; value: string; timestamp: number }[];
}

/** A Prometheus of our own: its process and its HTTP API. */
export interface TestPrometheus extends Started {
  /** `http://127.0.0.1:<port>/api/v1`. */
  readonly api: string;
  get<T>(path: string, params: Record<string, string | string[]>): Promise<ApiResponse<T>>;
}

/**
 * Starts `binary` scraping the file_sd `targetsFile` every second, OpenMetrics accepted (so exemplars
 * come along) and exemplar storage on, with its data in `dir`; resolves once it is ready.
 */
export async function startPrometheus(
  binary: string,
  dir: string,
  targetsFile: string,
): Promise<TestPrometheus> {
  const config = [
    'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
    'scrape_configs:',
    '  - job_name: keel-demo',
    `    file_sd_configs: [{ files: [${JSON.stringify(targetsFile)}], refresh_interval: 1s }]`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const started = start(binary, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--enable-feature=exemplar-storage',
  ]);
  const base = `http://127.0.0.1:${port}`;
  const api = `${base}/api/v1`;
  const get = async <T>(path: string, params: Record<string, string | string[]>): Promise<ApiResponse<T>> => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      for (const one of Array.isArray(value) ? value : [value]) query.append(key, one);
    }
    const response = await fetch(`${api}/${path}?${query}`);
    return (await response.json()) as ApiResponse<T>;
  };
  try {
    await poll(
      'Prometheus to be ready',
      async () => ((await fetch(`${base}/-/ready`)).ok ? true : undefined),
      15_000,
    );
  } catch (error) {
    await started.stop();
    throw new Error(`${(error as Error).message}\n${started.output()}`);
  }
  return { ...started, api, get };
}
