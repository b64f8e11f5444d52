import { ProxyTracerProvider, trace } from '@opentelemetry/api';
import { NodeSDK, type NodeSDKConfiguration } from '@opentelemetry/sdk-node';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { otlpSpanProcessor } from './otlp-processor.js';
import { baseResource, resourceDetectors } from './resource.js';
import { settleWithin } from './settle-within.js';
import { type TraceStore, traceStore } from './trace-store.js';
import { type TracingOptions, validateTracingOptions } from './tracing-options.js';

/** Bound on `shutdown()` and `forceFlush()` when none is given. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5000;

/** A running tracing SDK. */
export interface Tracing {
  /** The local trace store, when it is on. */
  readonly store: TraceStore | undefined;
  /**
   * Flushes and stops tracing within `timeoutMs`; never rejects, and a second call is a no-op returning the first
   * call's promise. With the default bound, a dead or silent collector is given up on inside it (the export
   * budget is shorter); with a bound shorter than the export budget, an export still in flight ends on its own.
   * @default timeoutMs 5000
   */
  shutdown(timeoutMs?: number): Promise<void>;
  /** Exports what has ended so far, within 5 s; never rejects. */
  forceFlush(): Promise<void>;
}

function assertNoTracerProvider(): void {
  const global = trace.getTracerProvider();
  // The API keeps the first provider registered and ignores later ones, so a second SDK would record nothing.
  if (global instanceof ProxyTracerProvider && global.getDelegateTracer('@keel/telemetry') !== undefined) {
    throw new Error(
      'startTracing: an OpenTelemetry tracer provider is already registered (an earlier startTracing() or another ' +
        'SDK), so this one would record nothing; start tracing once per process, or call trace.disable() first',
    );
  }
}

/**
 * Starts the OpenTelemetry NodeSDK for traces only (no instrumentations, metrics or log export): spans go to an
 * OTLP/HTTP collector when one is configured, otherwise to a local in-memory store you can render in a terminal.
 *
 * @example
 * const tracing = startTracing({ serviceName: 'checkout', serviceVersion: '1.4.0' });
 * process.once('SIGTERM', () => void tracing.shutdown());
 */
export function startTracing(options: TracingOptions): Tracing {
  validateTracingOptions(options);
  assertNoTracerProvider();
  const otlp = otlpSpanProcessor({ endpoint: options.otlpEndpoint, timeoutMs: options.exportTimeoutMs });
  const storeOption = options.traceStore ?? otlp === undefined;
  const store = storeOption === false ? undefined : traceStore(storeOption === true ? {} : storeOption);
  const processors: SpanProcessor[] = [
    ...(store ? [store] : []),
    ...(otlp ? [otlp] : []),
    ...(options.spanProcessors ?? []),
  ];

  const config: Partial<NodeSDKConfiguration> = {
    instrumentations: [],
    // Empty lists, not omissions: omitted, NodeSDK would start OTLP metric and log exporters to localhost:4318.
    metricReaders: [],
    logRecordProcessors: [],
    spanProcessors: processors,
    resource: baseResource(options),
    ...resourceDetectors(),
  };
  // The sampler is left out on purpose: NodeSDK then reads OTEL_TRACES_SAMPLER(_ARG), else parent-based always-on.
  if (options.propagator !== undefined) config.textMapPropagator = options.propagator;
  if (options.contextManager !== undefined) config.contextManager = options.contextManager;
  const sdk = new NodeSDK(config);
  sdk.start();

  let stopping: Promise<void> | undefined;
  return {
    store,
    shutdown(timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS) {
      const bound = Number.isFinite(timeoutMs) && timeoutMs >= 0 ? timeoutMs : DEFAULT_SHUTDOWN_TIMEOUT_MS;
      stopping ??= settleWithin(() => sdk.shutdown(), bound, 'tracing shutdown');
      return stopping;
    },
    forceFlush() {
      const flushAll = () => Promise.all(processors.map((processor) => processor.forceFlush()));
      return settleWithin(flushAll, DEFAULT_SHUTDOWN_TIMEOUT_MS, 'tracing flush');
    },
  };
}
