import {
  context,
  type ProxyTracerProvider,
  propagation,
  type TextMapPropagator,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { assertNoEnvExporterConflict, envSelectsExporters, startEnvSdk } from './env-exporters.js';
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

/** The SDK's provider behind the API's proxy; the proxy may come from another copy of the API (NodeSDK's CommonJS one). */
function registeredProvider(): object | undefined {
  const global: Partial<ProxyTracerProvider> = trace.getTracerProvider();
  return typeof global.getDelegate === 'function' ? global.getDelegate() : undefined;
}

function assertNoTracerProvider(): void {
  const global: Partial<ProxyTracerProvider> = trace.getTracerProvider();
  // The API keeps the first provider registered and ignores later ones, so a second SDK would record nothing.
  if (
    typeof global.getDelegateTracer === 'function' &&
    global.getDelegateTracer('@keel/telemetry') !== undefined
  ) {
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
  assertNoEnvExporterConflict('startTracing', options);
  assertNoTracerProvider();
  if (envSelectsExporters() && !sdkDisabled()) return envTracing(options);
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
    propagation.setGlobalPropagator(options.propagator ?? w3cPropagator());
    trace.setGlobalTracerProvider(provider);
  }
  const sdk = { shutdown: () => provider?.shutdown() ?? Promise.resolve() };

  const flushAll = () => Promise.all(processors.map((processor) => processor.forceFlush()));
  return running(store, sdk, flushAll);
}

/**
 * `OTEL_TRACES_EXPORTER` is set: NodeSDK owns the exporters it names and reads the rest of the trace SDK's
 * `OTEL_*` variables itself; Keel gives it the resource, propagator and context manager. No trace store,
 * no Keel OTLP processor (the environment's `OTEL_EXPORTER_OTLP_*` configure NodeSDK's instead, so the
 * `otlpEndpoint` and `exportTimeoutMs` options, deployment facts the environment overrides, are not used),
 * and `onExportFailure` is not told: NodeSDK's exporters report failures through the diag logger only.
 */
function envTracing(options: TracingOptions): Tracing {
  const sdk = startEnvSdk({
    resource: serviceResource(options),
    propagator: options.propagator ?? w3cPropagator(),
    contextManager: options.contextManager,
  });
  const flush = async () => {
    const provider = registeredProvider() as { forceFlush?: () => Promise<void> } | undefined;
    await provider?.forceFlush?.();
  };
  return running(undefined, sdk, flush);
}

function w3cPropagator(): TextMapPropagator {
  return new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  });
}

function running(
  store: TraceStore | undefined,
  sdk: { shutdown(): Promise<void> },
  flush: () => Promise<unknown>,
): Tracing {
  let stopping: Promise<void> | undefined;
  return {
    store,
    shutdown(timeoutMs = DEFAULT_SHUTDOWN_TIMEOUT_MS) {
      const bound = Number.isFinite(timeoutMs) && timeoutMs >= 0 ? timeoutMs : DEFAULT_SHUTDOWN_TIMEOUT_MS;
      stopping ??= settleWithin(() => sdk.shutdown(), bound, 'tracing shutdown');
      return stopping;
    },
    forceFlush() {
      return settleWithin(flush, DEFAULT_SHUTDOWN_TIMEOUT_MS, 'tracing flush');
    },
  };
}
