import { createRequire } from 'node:module';
import { optionConflict, received } from '@keel/resilience/adapter';
import type { ContextManager, TextMapPropagator } from '@opentelemetry/api';
import { getStringFromEnv, getStringListFromEnv } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';

type SdkNodeModule = typeof import('@opentelemetry/sdk-node');

/**
 * True when `OTEL_TRACES_EXPORTER` selects exporters: set, not empty and not `none`. Then
 * `@opentelemetry/sdk-node` builds the exporters from the environment (otlp over any
 * `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL`, console, zipkin) in place of Keel's own processors.
 */
export function envSelectsExporters(): boolean {
  const names = (getStringListFromEnv('OTEL_TRACES_EXPORTER') ?? []).filter(
    (name) => name !== '' && name !== 'null',
  );
  return names.length > 0 && names[0] !== 'none';
}

/**
 * NodeSDK builds its span processors from the environment only when it is given none, and a running
 * tracer provider takes no processor afterwards, so processors the code asks for explicitly cannot run
 * beside the exporters the environment selects. Dropping them would lose spans the code relies on (an
 * in-memory exporter a test reads, the trace store `renderTrace` reads) without a word, so it throws.
 */
export function assertNoEnvExporterConflict(
  owner: string,
  options: { readonly spanProcessors?: readonly unknown[] | undefined; readonly traceStore?: unknown },
): void {
  if (!envSelectsExporters()) return;
  const variable = `OTEL_TRACES_EXPORTER=${received(getStringFromEnv('OTEL_TRACES_EXPORTER'))}`;
  const advice = `the exporters that variable selects come from @opentelemetry/sdk-node, which takes no processor beside them; unset it to keep Keel's processors, or drop the option`;
  if (options.spanProcessors !== undefined && options.spanProcessors.length > 0) {
    optionConflict(owner, 'spanProcessors', variable, advice);
  }
  if (options.traceStore !== undefined && options.traceStore !== false) {
    optionConflict(owner, 'traceStore', variable, advice);
  }
}

/** What NodeSDK is given beside the environment: Keel's resource, propagator and context manager. */
export interface EnvSdkConfig {
  resource: Resource;
  propagator: TextMapPropagator;
  contextManager?: ContextManager | undefined;
}

/**
 * Starts NodeSDK for traces only, its exporters, sampler, batching and span limits read from `OTEL_*`.
 * It is loaded here, synchronously, and only when `OTEL_TRACES_EXPORTER` asks for it: with every
 * exporter and its protobuf and gRPC stacks it is most of a cold start's cost, which a default start
 * does not pay. Its CommonJS build is required because `startTelemetry` is synchronous; the API's
 * globals are shared between the CommonJS and ES module copies, so what it registers is what
 * `@opentelemetry/api` returns here.
 */
export function startEnvSdk(config: EnvSdkConfig): { shutdown(): Promise<void> } {
  const { NodeSDK } = createRequire(import.meta.url)('@opentelemetry/sdk-node') as SdkNodeModule;
  const sdk = new NodeSDK({
    resource: config.resource,
    // The resource is detected already, with Keel's detectors (no random instance id over the option).
    autoDetectResources: false,
    textMapPropagator: config.propagator,
    ...(config.contextManager === undefined ? {} : { contextManager: config.contextManager }),
    instrumentations: [],
    // Empty lists, not omissions: omitted, NodeSDK would start OTLP metric and log exporters to localhost.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  return sdk;
}
