// Test scaffolding shared by the operation and bridge tests: a real tracer with an in-memory exporter,
// a fresh metrics registry, a capturing logger and the real propagator.
import { Writable } from 'node:stream';
import { ensureContextManager } from '@keel/resilience/adapter';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import pino from 'pino';
import { createMetrics } from '../metrics/index.js';
import type { OperationCore } from '../operations/core.js';
import { keelPropagator } from '../propagation/propagator.js';

export interface TestCore extends OperationCore {
  readonly exporter: InMemorySpanExporter;
  readonly lines: Record<string, unknown>[];
  readonly provider: TracerProvider;
  /** Finished spans, after the (asynchronous) simple processor has exported them. */
  finished(): Promise<ReadableSpan[]>;
}

export function testCore(options: { allowed?: (host: string) => boolean } = {}): TestCore {
  ensureContextManager();
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return {
    exporter,
    lines,
    provider,
    tracer: provider.getTracer('test'),
    metrics: createMetrics(),
    logger: pino({ level: 'debug' }, sink),
    propagator: keelPropagator(),
    allowsFullContext: options.allowed ?? (() => true),
    async finished() {
      await provider.forceFlush();
      return exporter.getFinishedSpans();
    },
  };
}
