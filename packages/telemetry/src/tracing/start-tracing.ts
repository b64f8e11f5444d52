import { context, ProxyTracerProvider, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { otlpSpanProcessor } from './otlp-processor.js';
import { serviceResource } from './resource.js';
import { diagLoggerFromEnv, samplerFromEnv, sdkDisabled, spanLimitsFromEnv } from './sdk-env.js';
import { settleWithin } from './settle-within.js';
import { type TraceStore, traceStore } from './trace-store.js';
import { type TracingOptions, validateTracingOptions } from './tracing-options.js';

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

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
 * Starts the OpenTelemetry trace SDK for traces only (no instrumentations, metrics or log export): spans go to an
 * OTLP/HTTP collector when one is configured, otherwise to a local in-memory store you can render in a terminal.
 * It reads the same `OTEL_*` variables `@opentelemetry/sdk-node` reads for such a setup, and loads the OTLP
 * exporter only when spans are first exported, so a service pays at start only for the tracer it uses.
 *
 * @example
 * const tracing = startTracing({ serviceName: 'checkout', serviceVersion: '1.4.0' });
 * process.once('SIGTERM', () => void tracing.shutdown());
 */
export function startTracing(options: TracingOptions): Tracing {
  validateTracingOptions(options);
  assertNoTracerProvider();
  diagLoggerFromEnv();
  const otlp = otlpSpanProcessor({
    endpoint: options.otlpEndpoint,
    timeoutMs: options.exportTimeoutMs,
    onExportFailure: options.onExportFailure,
  });
  const storeOption = options.traceStore ?? otlp === undefined;
  const store = storeOption === false ? undefined : traceStore(storeOption === true ? {} : storeOption);
  const processors: SpanProcessor[] = [
    ...(store ? [store] : []),
    ...(otlp ? [otlp] : []),
    ...(options.spanProcessors ?? []),
  ];
  // OTEL_SDK_DISABLED: as with NodeSDK, nothing is registered and spans stay the API's no-ops.
  const provider = sdkDisabled()
    ? undefined
    : new TracerProvider({
        resource: serviceResource(options),
        spanProcessors: processors,
        spanLimits: spanLimitsFromEnv(),
        ...optional('sampler', samplerFromEnv()),
      });
  if (provider !== undefined) {
    const contextManager = options.contextManager ?? new AsyncLocalStorageContextManager();
    context.setGlobalContextManager(contextManager.enable());
    const w3c = () =>
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
    propagation.setGlobalPropagator(options.propagator ?? w3c());
    trace.setGlobalTracerProvider(provider);
  }
  const sdk = { shutdown: () => provider?.shutdown() ?? Promise.resolve() };

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
