// Shared by this package's tests: one started telemetry per test file (it is process-global) with an
// in-memory span exporter and a captured logger, and Express apps served on loopback port 0.
import type { AddressInfo } from 'node:net';
import { startTestTelemetry, type TestTelemetry } from '@keel/telemetry/testing';
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Express, Request } from 'express';
import { afterAll, afterEach, beforeEach } from 'vitest';

export interface Harness extends TestTelemetry {
  /** Every log record written so far, parsed. */
  readonly lines: Record<string, unknown>[];
  /** The server spans ended so far, once at least `count` have ended (waits up to 2 s). */
  serverSpans(count?: number): Promise<ReadableSpan[]>;
}

export function startHarness(options: { seriesLimit?: number } = {}): Harness {
  const started = startTestTelemetry({ serviceName: 'orders', ...options });
  return {
    ...started,
    get lines() {
      return started.records();
    },
    async serverSpans(count = 1) {
      const until = Date.now() + 2_000;
      for (;;) {
        const spans = await started.spans(SpanKind.SERVER);
        if (spans.length >= count || Date.now() > until) return spans;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
}

export interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `app` on 127.0.0.1, on a port of the system's choosing. */
export async function serve(app: Express): Promise<Served> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `condition` until it holds (up to 2 s) — for what a server does after the client has its answer. */
export async function eventually(condition: () => boolean): Promise<void> {
  const until = Date.now() + 2_000;
  while (!condition() && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** One test file's harness and the apps its tests serve. */
export interface HarnessFixture {
  /** The file's harness: started before the first test, reset before each, shut down after the last. */
  readonly h: Harness;
  /** Serves `app` for the current test; it is closed after the test. */
  serve(app: Express): Promise<Served>;
  /** Starts a fresh harness, for a test that shut the file's down. */
  restart(): Harness;
}

/** Registers the hooks every Express test file needs and returns its fixture. */
export function useHarness(): HarnessFixture {
  let harness: Harness | undefined;
  const opened: Served[] = [];
  beforeEach(() => {
    harness ??= startHarness();
    harness.reset();
  });
  afterEach(async () => {
    for (const served of opened.splice(0)) await served.close();
  });
  afterAll(async () => {
    await harness?.shutdown();
  });
  return {
    get h() {
      if (harness === undefined) throw new Error('useHarness: the harness starts in beforeEach');
      return harness;
    },
    async serve(app) {
      const served = await serve(app);
      opened.push(served);
      return served;
    },
    restart() {
      harness = startHarness();
      return harness;
    },
  };
}

/** What `slowRoute` records: when the handler ran, and why its `requestSignal` aborted. */
export interface SlowRoute {
  readonly arrived: Promise<void>;
  reason(): unknown;
}

/**
 * Adds `GET /slow` to `app`: it takes `signal(req)` (the package's `requestSignal`) and answers only once
 * that signal aborts, recording the reason. For tests of a client that leaves before the response.
 */
export function slowRoute(
  app: Pick<Express, 'get'>,
  signal: (req: Request) => AbortSignal,
  onSignal?: (req: Request, signal: AbortSignal) => void,
): SlowRoute {
  let arrive!: () => void;
  const arrived = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  let reason: unknown;
  app.get('/slow', (req, res) => {
    const s = signal(req);
    onSignal?.(req, s);
    s.addEventListener('abort', () => {
      reason = s.reason;
      res.end();
    });
    arrive();
  });
  return { arrived, reason: () => reason };
}

/** Fetches `/slow` and aborts the fetch once the handler has run. */
export async function leaveEarly(url: string, arrived: Promise<void>): Promise<void> {
  const abort = new AbortController();
  const pending = fetch(`${url}/slow`, { signal: abort.signal }).catch(() => undefined);
  await arrived;
  abort.abort();
  await pending;
}
