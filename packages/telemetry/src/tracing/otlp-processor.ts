import { diag } from '@opentelemetry/api';
import { getNumberFromEnv, getStringFromEnv } from '@opentelemetry/core';
import { BatchSpanProcessor, type BatchSpanProcessorOptions } from '@opentelemetry/sdk-trace';
import { type ExportFailureListener, lazyOtlpExporter } from './lazy-otlp-exporter.js';

/** Per-export budget when neither the option nor the environment sets one. */
export const DEFAULT_EXPORT_TIMEOUT_MS = 4000;

// The batch processor takes its OTEL_BSP_* settings as options; they are read here, as the SDK would.
const BATCH_ENV = [
  ['OTEL_BSP_SCHEDULE_DELAY', 'scheduledDelayMillis'],
  ['OTEL_BSP_MAX_QUEUE_SIZE', 'maxQueueSize'],
  ['OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 'maxExportBatchSize'],
  ['OTEL_BSP_EXPORT_TIMEOUT', 'exportTimeoutMillis'],
] as const;

function positiveFromEnv(name: string): number | undefined {
  const value = getNumberFromEnv(name);
  if (value === undefined || value > 0) return value;
  diag.warn(`@keel/telemetry: ${name}=${value} is not a positive number; ignored`);
  return undefined;
}

/** True when the environment names an OTLP collector for traces. */
export function otlpEndpointFromEnv(): boolean {
  return (
    getStringFromEnv('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') !== undefined ||
    getStringFromEnv('OTEL_EXPORTER_OTLP_ENDPOINT') !== undefined
  );
}

/** Options of the OTLP processor. */
export interface OtlpProcessorOptions {
  /** Base URL of the collector; ignored when the environment names one. */
  endpoint?: string | undefined;
  /** Per-export budget; the environment's OTLP timeout wins. */
  timeoutMs?: number | undefined;
  /** Told of each failed export. */
  onExportFailure?: ExportFailureListener | undefined;
}

/**
 * A batch processor exporting OTLP/HTTP protobuf, or `undefined` when no collector is configured. The exporter
 * reads the endpoint, headers, compression and TLS files from the `OTEL_EXPORTER_OTLP_*` variables itself; the
 * URL is only passed when the environment names none, because a URL passed in code would win over it.
 */
export function otlpSpanProcessor(options: OtlpProcessorOptions): BatchSpanProcessor | undefined {
  const fromEnv = otlpEndpointFromEnv();
  if (!fromEnv && options.endpoint === undefined) return undefined;
  const timeoutMillis =
    positiveFromEnv('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') ??
    positiveFromEnv('OTEL_EXPORTER_OTLP_TIMEOUT') ??
    options.timeoutMs ??
    DEFAULT_EXPORT_TIMEOUT_MS;
  const url = fromEnv ? undefined : tracesUrl(options.endpoint ?? '');
  const exporter = lazyOtlpExporter(
    { timeoutMillis, ...(url === undefined ? {} : { url }) },
    options.onExportFailure,
  );
  // The processor's own guard matches the exporter's budget: it only matters if the exporter never calls back.
  const batch: BatchSpanProcessorOptions = { exporter, exportTimeoutMillis: timeoutMillis };
  for (const [name, key] of BATCH_ENV) {
    const value = positiveFromEnv(name);
    if (value !== undefined) batch[key] = value;
  }
  return new BatchSpanProcessor(batch);
}

/** `base` + `v1/traces`, the way OTEL_EXPORTER_OTLP_ENDPOINT is resolved, so option and variable mean the same. */
export function tracesUrl(base: string): string {
  return new URL('v1/traces', base.endsWith('/') ? base : `${base}/`).href;
}
