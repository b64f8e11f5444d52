import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import type { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

/** Configuration of the OTLP/HTTP protobuf exporter. */
export type OtlpExporterConfig = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>;

/** Told of each export that failed, with the exporter's error when it gave one. */
export type ExportFailureListener = (error: Error | undefined) => void;

/**
 * The OTLP/HTTP protobuf span exporter, loaded on the first export rather than at start: its protobuf and
 * HTTP stack is most of a cold start's cost, and a service that ends no span before its first batch should
 * not pay it before serving. Each failed export is reported to `onFailure`.
 */
export function lazyOtlpExporter(
  config: OtlpExporterConfig,
  onFailure?: ExportFailureListener,
): SpanExporter {
  let loading: Promise<SpanExporter> | undefined;
  const load = () => {
    loading ??= import('@opentelemetry/exporter-trace-otlp-proto').then(
      ({ OTLPTraceExporter }) => new OTLPTraceExporter(config),
    );
    return loading;
  };
  const report = (result: ExportResult) => {
    if (result.code !== ExportResultCode.SUCCESS) onFailure?.(result.error);
  };
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      load().then(
        (exporter) =>
          exporter.export(spans, (result) => {
            report(result);
            done(result);
          }),
        (error: unknown) => {
          const result: ExportResult = {
            code: ExportResultCode.FAILED,
            error: error instanceof Error ? error : new Error(String(error)),
          };
          report(result);
          done(result);
        },
      );
    },
    async forceFlush() {
      if (loading !== undefined) await (await loading).forceFlush?.();
    },
    async shutdown() {
      // Never loaded means never used: nothing to close.
      if (loading !== undefined) await (await loading).shutdown();
    },
  };
}
