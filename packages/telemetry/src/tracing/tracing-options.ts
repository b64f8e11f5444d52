import {
  checkFunction,
  checkKeys,
  checkNonEmptyString,
  invalidOption,
  MAX_MS,
  optionalNumber,
} from '@keel/resilience/adapter';
import type { ContextManager, TextMapPropagator } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import type { ExportFailureListener } from './lazy-otlp-exporter.js';
import type { TraceStoreOptions } from './trace-store.js';

/**
 * Options of `startTracing()`. Deployment facts (service name, resource attributes, collector endpoint, timeouts,
 * sampler) can be overridden by the standard `OTEL_*` variables, which win: the code states defaults, the operator
 * decides per deployment. Behaviour the code relies on (propagator, context manager, processors) is never overridden.
 */
export interface TracingOptions {
  /** `service.name`; `OTEL_SERVICE_NAME`, then `service.name` in `OTEL_RESOURCE_ATTRIBUTES`, win over it. */
  serviceName: string;
  /** `service.version`. */
  serviceVersion?: string;
  /** `service.instance.id`. @default a random UUID */
  serviceInstanceId?: string;
  /**
   * Base URL of an OTLP/HTTP collector (`/v1/traces` is appended), used unless `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
   * or `OTEL_EXPORTER_OTLP_ENDPOINT` is set. With any of the three, spans are exported as OTLP/HTTP protobuf.
   */
  otlpEndpoint?: string;
  /**
   * Time one export may take, retries included; `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` or `OTEL_EXPORTER_OTLP_TIMEOUT`
   * win. Shorter than shutdown's default bound so a dead collector is given up on before shutdown stops waiting.
   * @default 4000
   */
  exportTimeoutMs?: number;
  /**
   * The local trace store; `false` turns it off, `true` or bounds turn it on even when exporting.
   * @default on only when no collector endpoint is configured
   */
  traceStore?: boolean | TraceStoreOptions;
  /** The propagator to install (Keel's composite one). @default W3C trace context + baggage */
  propagator?: TextMapPropagator;
  /** The context manager to install. @default AsyncLocalStorage */
  contextManager?: ContextManager;
  /** More span processors, after the store and the exporter (tests pass an in-memory exporter here). */
  spanProcessors?: SpanProcessor[];
  /** Told of each failed OTLP export, with the exporter's error when it gave one. */
  onExportFailure?: ExportFailureListener;
}

const KNOWN = new Set([
  'serviceName',
  'serviceVersion',
  'serviceInstanceId',
  'otlpEndpoint',
  'exportTimeoutMs',
  'traceStore',
  'propagator',
  'contextManager',
  'spanProcessors',
  'onExportFailure',
]);

const OWNER = 'startTracing';

/** Checks `options` once, at start, with messages that name the option, the expectation and the value. */
export function validateTracingOptions(options: TracingOptions): void {
  if (typeof options !== 'object' || options === null) {
    invalidOption(OWNER, 'options', 'an object with serviceName', options);
  }
  checkKeys(OWNER, '', options, KNOWN);
  const o = options as unknown as Record<string, unknown>;
  checkNonEmptyString(OWNER, 'serviceName', o.serviceName);
  for (const key of ['serviceVersion', 'serviceInstanceId'] as const) {
    if (o[key] !== undefined) checkNonEmptyString(OWNER, key, o[key]);
  }
  if (o.otlpEndpoint !== undefined) {
    const url = typeof o.otlpEndpoint === 'string' ? URL.parse(o.otlpEndpoint) : null;
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      invalidOption(OWNER, 'otlpEndpoint', 'an http(s) URL', o.otlpEndpoint);
    }
  }
  optionalNumber(OWNER, 'exportTimeoutMs', o.exportTimeoutMs, undefined, 1, MAX_MS);
  const store = o.traceStore;
  if (store !== undefined && typeof store !== 'boolean' && (typeof store !== 'object' || store === null)) {
    invalidOption(OWNER, 'traceStore', 'a boolean or trace store bounds', o.traceStore);
  }
  checkFunction(OWNER, 'onExportFailure', o.onExportFailure);
  if (o.spanProcessors !== undefined && !Array.isArray(o.spanProcessors)) {
    invalidOption(OWNER, 'spanProcessors', 'an array of span processors', o.spanProcessors);
  }
}
