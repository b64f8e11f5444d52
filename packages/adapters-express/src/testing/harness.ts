// Shared by this package's tests: one started telemetry per test file (it is process-global) with an
// in-memory span exporter and a captured logger, and Express apps served on loopback port 0.
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { startTelemetry, type Telemetry } from '@keel/telemetry';
import { context, propagation, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import type { Express } from 'express';
import pino from 'pino';

export interface Harness {
  readonly telemetry: Telemetry;
  readonly exporter: InMemorySpanExporter;
  /** Every log record written so far, parsed. */
  readonly lines: Record<string, unknown>[];
  /** Forgets the spans and log lines recorded so far. */
  reset(): void;
  /** The server spans ended so far, once at least `count` have ended (waits up to 2 s). */
  serverSpans(count?: number): Promise<ReadableSpan[]>;
  shutdown(): Promise<void>;
}

export function startHarness(options: { seriesLimit?: number } = {}): Harness {
  const exporter = new InMemorySpanExporter();
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const telemetry = startTelemetry({
    serviceName: 'orders',
    logger: pino({ level: 'debug' }, sink),
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
    traceStore: false,
    processMetrics: false,
    ...options,
  });
  return {
    telemetry,
    exporter,
    lines,
    reset() {
      exporter.reset();
      lines.length = 0;
    },
    async serverSpans(count = 1) {
      const until = Date.now() + 2_000;
      for (;;) {
        await telemetry.forceFlush();
        const spans = exporter.getFinishedSpans().filter((s) => s.kind === 1); // SpanKind.SERVER
        if (spans.length >= count || Date.now() > until) return spans;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async shutdown() {
      await telemetry.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
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
