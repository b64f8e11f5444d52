// The started telemetry every Keel test uses: spans in memory, log records captured as written.
import { Writable } from 'node:stream';
import { context, propagation, type SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { startTelemetry, type Telemetry, type TelemetryOptions } from '../start-telemetry.js';

/** Options of {@link startTestTelemetry}: any `startTelemetry` option, plus the captured logger's level. */
export interface TestTelemetryOptions extends Partial<Omit<TelemetryOptions, 'logger'>> {
  /** Level of the captured logger. @default 'debug' */
  readonly logLevel?: string;
}

/** A started telemetry for one test file (telemetry is process-global), with what it recorded. */
export interface TestTelemetry {
  readonly telemetry: Telemetry;
  readonly exporter: InMemorySpanExporter;
  /** Every chunk the logger wrote, as written (one JSON record per line). */
  readonly raw: string[];
  /** Every log record written so far, parsed. */
  records(): Record<string, unknown>[];
  /** Finished spans of `kind` (all when omitted), after a flush. */
  spans(kind?: SpanKind): Promise<ReadableSpan[]>;
  /** Forgets the spans and log records so far. */
  reset(): void;
  /** Shuts telemetry down and releases the OpenTelemetry globals, so the next file starts afresh. */
  shutdown(): Promise<void>;
}

/**
 * Starts telemetry for tests: spans go to an in-memory exporter (synchronously, through a simple
 * processor), log records to memory; no trace store and no process metrics unless asked.
 *
 * @example
 * const t = startTestTelemetry({ serviceName: 'orders' });
 * afterAll(() => t.shutdown());
 */
export function startTestTelemetry(options: TestTelemetryOptions = {}): TestTelemetry {
  const { logLevel = 'debug', ...rest } = options;
  const exporter = new InMemorySpanExporter();
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      raw.push(String(chunk));
      done();
    },
  });
  const telemetry = startTelemetry({
    serviceName: 'keel-test',
    traceStore: false,
    processMetrics: false,
    ...rest,
    logger: pino({ level: logLevel }, sink),
    spanProcessors: [new SimpleSpanProcessor({ exporter }), ...(rest.spanProcessors ?? [])],
  });
  return {
    telemetry,
    exporter,
    raw,
    records: () =>
      raw.flatMap((chunk) =>
        chunk
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => JSON.parse(line) as Record<string, unknown>),
      ),
    async spans(kind) {
      await telemetry.forceFlush();
      const all = exporter.getFinishedSpans();
      return kind === undefined ? all : all.filter((span) => span.kind === kind);
    },
    reset() {
      exporter.reset();
      raw.length = 0;
    },
    async shutdown() {
      await telemetry.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
