// Shared by the end-to-end tests: one started telemetry per file whose logs are kept raw (so a test can
// check that a record stays on one line), servers on loopback port 0, and closing what a test opened.
import { type Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TelemetryOptions } from '@keel/telemetry';
import { startTestTelemetry, type TestTelemetry } from '@keel/telemetry/testing';
import { SpanKind } from '@opentelemetry/api';
import type { Express } from 'express';
import { afterAll, afterEach, beforeAll } from 'vitest';

/** The end-to-end tests' telemetry: logs at `info`, kept raw so a test can check a record stays one line. */
export type E2e = TestTelemetry;

export function startE2e(options: Partial<Omit<TelemetryOptions, 'logger'>> = {}): E2e {
  return startTestTelemetry({ serviceName: 'keel-e2e', logLevel: 'info', ...options });
}

export { SpanKind };

/** One test file's end-to-end telemetry, reset after each test, with what each test opened closed. */
export interface E2eFixture {
  /** The file's telemetry: started before the first test, shut down after the last. */
  readonly e: E2e;
  readonly opened: Opened;
}

/** Registers the hooks of a file whose tests each open their own servers and clients. */
export function useE2e(): E2eFixture {
  let e: E2e | undefined;
  const opened = new Opened();
  beforeAll(() => {
    e = startE2e();
  });
  afterEach(async () => {
    await opened.closeAll();
    e?.reset();
  });
  afterAll(async () => {
    await e?.shutdown();
  });
  return {
    opened,
    get e() {
      if (e === undefined) throw new Error('useE2e: the telemetry starts in beforeAll');
      return e;
    },
  };
}

/** Something a test opened and must close. */
export interface Closable {
  close(): Promise<void>;
}

/** Collects what a test opens, to close it all in `afterEach`. */
export class Opened {
  readonly #items: Closable[] = [];

  add<T extends Closable>(item: T): T {
    this.#items.push(item);
    return item;
  }

  async closeAll(): Promise<void> {
    const items = this.#items.splice(0).reverse();
    for (const item of items) await item.close();
  }
}

export interface Served extends Closable {
  readonly url: string;
}

/** Serves `app` on `host` (127.0.0.1 by default), on a port of the system's choosing. */
export async function serve(app: Express, host = '127.0.0.1'): Promise<Served> {
  const server = app.listen(0, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * A request with headers exactly as given, repeats and casing included (`[name, value]` pairs), on
 * `node:http`: what a test needs to play a caller that fetch would normalise away.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: [string, string][]; body?: string; agent?: Agent } = {},
): Promise<RawResponse> {
  // Raw header arrays skip Node's defaults, Host included, which HTTP/1.1 requires.
  const flat = ['host', new URL(url).host, ...(options.headers ?? []).flat()];
  if (options.body !== undefined) flat.push('content-type', 'application/json');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: flat, ...(options.agent ? { agent: options.agent } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Header names and values a strict receiver accepts: a token, and visible ASCII with inner spaces. */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
export const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;
export const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[0-3]$/;

/** Polls `condition` until it holds (up to 2 s) — for what a server does after the caller has its answer. */
export async function eventually(condition: () => boolean): Promise<void> {
  const until = Date.now() + 2_000;
  while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
}
