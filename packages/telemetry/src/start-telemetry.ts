import type { Disposer, Pipeline } from '@keel/resilience';
import { ensureContextManager, onPipelineCreated, onPipelineDisposed } from '@keel/resilience/adapter';
import { propagation, type Tracer, trace } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { observePipeline } from './bridge/observe-pipeline.js';
import { createLogger } from './logging/index.js';
import { createMetrics, type KeelMetrics } from './metrics/index.js';
import type { OperationCore } from './operations/core.js';
import {
  type DroppedContextListener,
  type KeelPropagator,
  keelPropagator,
} from './propagation/propagator.js';
import { assertSameStart, checkTelemetryOptions } from './start-telemetry-options.js';
import { assertNoEnvExporterConflict } from './tracing/env-exporters.js';
import { exportFailureReporter } from './tracing/export-failures.js';
import { startTracing, type TraceStore } from './tracing/index.js';

/** Options of `startTelemetry`; everything but `serviceName` has a default, and `OTEL_*` variables apply. */
export interface TelemetryOptions {
  /** `service.name` (OTEL_SERVICE_NAME wins when set). */
  serviceName: string;
  /** `service.version`. */
  serviceVersion?: string;
  /**
   * OTLP/HTTP endpoint for traces; else OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT; else the local trace store.
   * Not used when `OTEL_TRACES_EXPORTER` selects exporters: `@opentelemetry/sdk-node` builds them from the environment.
   */
  otlpEndpoint?: string;
  /**
   * Keep finished spans in memory for `traces.render()`; `true` keeps them even when exporting, and throws a
   * `TypeError` when `OTEL_TRACES_EXPORTER` selects exporters (no processor runs beside those).
   * @default on only when no OTLP endpoint or `OTEL_TRACES_EXPORTER` is configured
   */
  traceStore?: boolean;
  /**
   * Extra span processors (tests pass an in-memory exporter here). A non-empty list throws a `TypeError` when
   * `OTEL_TRACES_EXPORTER` selects exporters: `@opentelemetry/sdk-node` takes no processor beside those.
   */
  spanProcessors?: SpanProcessor[];
  /** Your pino logger; Keel's fields are added to it. @default a new JSON logger at LOG_LEVEL */
  logger?: Logger;
  /** Log level when Keel makes the logger. @default process.env.LOG_LEVEL ?? 'info' */
  logLevel?: string;
  /** Also export Node.js process metrics. @default true */
  processMetrics?: boolean;
  /** Distinct label sets per metric before the overflow series. @default 2000 */
  seriesLimit?: number;
  /** Header carrying the correlation ID (x-request-id is read too). @default 'x-correlation-id' */
  correlationHeader?: string;
  /**
   * Hosts that may receive baggage, tracestate and the correlation ID (exact names or `*.suffix`).
   * Everyone else gets `traceparent` only. @default every host
   */
  propagateTo?: readonly string[];
  /** Observe every pipeline created from now on (and those alive now). @default true */
  observePipelines?: boolean;
  /** Upper bound of `shutdown()`, in ms. @default 5000 */
  shutdownTimeoutMs?: number;
}

/**
 * The handle `startTelemetry` returns. It is also the `OperationCore` that the operation helpers of
 * `@keel/telemetry/adapter` take, so an adapter passes the handle it was given straight through.
 */
export interface Telemetry extends OperationCore {
  readonly serviceName: string;
  readonly logger: Logger;
  readonly metrics: KeelMetrics;
  readonly tracer: Tracer;
  readonly propagator: KeelPropagator;
  /** The local trace viewer, when no exporter is configured. */
  readonly traces: TraceStore | undefined;
  /** `Content-Type` of `metricsText()` without an Accept header (Prometheus text 0.0.4). */
  readonly metricsContentType: string;
  /** The scrape body: OpenMetrics with exemplars when `accept` asks for it, Prometheus text otherwise. */
  metricsText(accept?: string): Promise<string>;
  /** The scrape body and its content type, negotiated from `accept`. */
  scrape(accept?: string): Promise<{ contentType: string; body: string }>;
  /** Sends a pipeline's events to metrics, spans and logs (automatic for pipelines created after start). */
  observe(pipeline: Pipeline): Disposer;
  /** Exports the spans ended so far and writes the log lines held (bounded, never rejects). */
  forceFlush(): Promise<void>;
  /** Flushes spans and logs and stops everything; bounded by `shutdownTimeoutMs`, never rejects, idempotent. */
  shutdown(): Promise<void>;
}

const kHandle = Symbol.for('keel.telemetry.handle');
const kOptions = Symbol.for('keel.telemetry.options');
const holder = globalThis as unknown as Record<symbol, Telemetry | undefined>;
const startedWith = globalThis as unknown as Record<symbol, TelemetryOptions | undefined>;

/** Whether `host` matches an allow-list entry: an exact name, or `*.suffix` for its subdomains. */
export function hostAllowed(host: string, allowed: readonly string[] | undefined): boolean {
  if (allowed === undefined) return true;
  const h = host.toLowerCase();
  return allowed.some((entry) => {
    const e = entry.toLowerCase();
    return e.startsWith('*.') ? h.endsWith(e.slice(1)) : h === e;
  });
}

/**
 * Starts traces, logs and metrics for a service in one call, once per process. A second call with the same
 * options returns the first handle; with other options it throws, naming them, until the first is shut down.
 * Unknown options throw a `TypeError`.
 *
 * @example
 * const telemetry = startTelemetry({ serviceName: 'orders' });
 * telemetry.logger.info({ orderId }, 'order placed');
 * await telemetry.shutdown();
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  checkTelemetryOptions(options);
  // Before anything is created, so a conflict leaves nothing running.
  assertNoEnvExporterConflict('startTelemetry', options);
  const existing = holder[kHandle];
  if (existing !== undefined) {
    assertSameStart(startedWith[kOptions] ?? {}, options);
    return existing;
  }
  const serviceName = process.env.OTEL_SERVICE_NAME || options.serviceName;
  const logger = createLogger({
    serviceName,
    ...(options.logLevel === undefined ? {} : { level: options.logLevel }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const metrics = createMetrics({
    defaultMetrics: options.processMetrics !== false,
    ...(options.seriesLimit === undefined ? {} : { seriesLimit: options.seriesLimit }),
  });
  const propagator = keelPropagator({
    randomTraceIds: true,
    onDropped: droppedContextCounter(metrics),
    ...(options.correlationHeader === undefined ? {} : { correlationHeader: options.correlationHeader }),
  });
  const tracing = startTracing({
    serviceName: options.serviceName,
    ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion }),
    ...(options.otlpEndpoint === undefined ? {} : { otlpEndpoint: options.otlpEndpoint }),
    ...(options.traceStore === undefined ? {} : { traceStore: options.traceStore }),
    ...(options.spanProcessors === undefined ? {} : { spanProcessors: options.spanProcessors }),
    onExportFailure: exportFailureReporter(metrics, logger),
    propagator,
  });
  ensureContextManager();
  const handle = assemble({
    serviceName,
    propagator,
    logger,
    metrics,
    propagateTo: options.propagateTo,
    autoObserve: options.observePipelines !== false,
    traces: tracing.store,
    forceFlush: () => tracing.forceFlush(),
    async stop() {
      await tracing.shutdown(options.shutdownTimeoutMs ?? 5_000);
      // The SDK leaves its globals registered; release them so a later startTelemetry() can start afresh.
      trace.disable();
      propagation.disable();
      if (holder[kHandle] === handle) {
        holder[kHandle] = undefined;
        startedWith[kOptions] = undefined;
      }
    },
  });
  holder[kHandle] = handle;
  // A copy, so a caller mutating its options object afterwards cannot make a later start look the same.
  startedWith[kOptions] = { ...options };
  return handle;
}

/**
 * The telemetry adapters use when they were given none: the handle `startTelemetry` returned, or, when
 * no telemetry was started, a detached one made once per process. The detached handle starts no SDK and
 * registers nothing globally: it propagates context with Keel's propagator and its limits, creates spans
 * through whatever tracer provider is registered (none: the API's no-op, which still carries the
 * inbound trace through), counts into a registry of its own and logs at `LOG_LEVEL`. Look it up per
 * unit of work, not once at construction, so a client built before `startTelemetry()` still reports to it.
 */
export function currentTelemetry(): Telemetry {
  const started = holder[kHandle];
  if (started !== undefined) return started;
  detached ??= detachedTelemetry();
  return detached;
}

let detached: Telemetry | undefined;

function detachedTelemetry(): Telemetry {
  ensureContextManager();
  const serviceName = process.env.OTEL_SERVICE_NAME || 'unknown_service:node';
  const metrics = createMetrics({ defaultMetrics: false });
  return assemble({
    serviceName,
    propagator: keelPropagator({ onDropped: droppedContextCounter(metrics) }),
    logger: createLogger({ serviceName }),
    metrics,
    propagateTo: undefined,
    autoObserve: false,
    traces: undefined,
    forceFlush: async () => {},
    stop: async () => {},
  });
}

/** Counts dropped inbound context in `keel_inbound_context_dropped_total{header,reason}`. */
function droppedContextCounter(metrics: KeelMetrics): DroppedContextListener {
  return (header, reason) => metrics.inboundContextDropped.increment({ header, reason });
}

interface Parts {
  readonly serviceName: string;
  readonly propagator: KeelPropagator;
  readonly logger: Logger;
  readonly metrics: KeelMetrics;
  readonly propagateTo: readonly string[] | undefined;
  readonly autoObserve: boolean;
  readonly traces: TraceStore | undefined;
  forceFlush(): Promise<void>;
  stop(): Promise<void>;
}

function assemble(parts: Parts): Telemetry {
  const { serviceName, logger, metrics, propagator } = parts;
  const tracer = trace.getTracer('@keel/telemetry');
  const allowed = parts.propagateTo;
  const core: OperationCore = {
    tracer,
    metrics,
    logger,
    propagator,
    allowsFullContext: (host) => hostAllowed(host, allowed),
  };
  // Observed pipelines are held weakly, so one made per request and dropped without dispose() is
  // collected; the disposers (keyed by pipeline, and closing over a WeakRef only) go with it.
  const observed = new WeakMap<Pipeline, Disposer>();
  // What shutdown() lets go of; a collected pipeline's ref leaves through `collected`.
  const observedRefs = new Set<WeakRef<Pipeline>>();
  const collected = new FinalizationRegistry<WeakRef<Pipeline>>((ref) => observedRefs.delete(ref));
  const observe = (pipeline: Pipeline): Disposer => {
    const known = observed.get(pipeline);
    if (known !== undefined) return known;
    const stop = observePipeline(pipeline, metrics, logger);
    const ref = new WeakRef(pipeline);
    let forget: Disposer | undefined;
    let released = false;
    const dispose = () => {
      if (released) return;
      released = true;
      const live = ref.deref();
      if (live !== undefined) observed.delete(live);
      observedRefs.delete(ref);
      collected.unregister(ref);
      stop();
      forget?.();
    };
    observed.set(pipeline, dispose);
    observedRefs.add(ref);
    collected.register(pipeline, ref, ref);
    // A disposed pipeline (a closed client's) takes its subscription and gauge series with it.
    forget = onPipelineDisposed(pipeline, dispose);
    return dispose;
  };
  const stopAuto = parts.autoObserve ? onPipelineCreated(observe, { replay: true }) : undefined;
  let closing: Promise<void> | undefined;

  return {
    serviceName,
    logger,
    metrics,
    tracer,
    propagator,
    traces: parts.traces,
    metricsContentType: Registry.PROMETHEUS_CONTENT_TYPE,
    async metricsText(accept) {
      return (await metrics.metricsText(accept)).body;
    },
    scrape: (accept) => metrics.metricsText(accept),
    observe,
    allowsFullContext: core.allowsFullContext,
    forceFlush() {
      flushLogs(logger);
      return parts.forceFlush();
    },
    shutdown() {
      closing ??= (async () => {
        stopAuto?.();
        for (const ref of [...observedRefs]) {
          const live = ref.deref();
          if (live !== undefined) observed.get(live)?.();
        }
        await parts.stop();
        // Last, so the lines written while spans were exported leave too.
        flushLogs(logger);
      })().catch(() => undefined);
      return closing;
    },
  };
}

/** Writes the log lines the logger's destination holds (Keel's default holds them for one turn); never throws. */
function flushLogs(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // A destination that cannot flush now (closed, not yet open) has nothing Keel could do better.
  }
}
