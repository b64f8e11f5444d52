import type { Logger } from 'pino';
import type { KeelMetrics } from '../metrics/index.js';
import type { ExportFailureListener } from './lazy-otlp-exporter.js';

/** At most one warning per this many ms: a collector that is down fails every batch, and says so once. */
export const EXPORT_FAILURE_WARN_INTERVAL_MS = 60_000;

/**
 * Counts each failed span export in `keel_telemetry_export_failures_total{signal="traces"}` and logs a
 * warning for the first failure of each interval, with how many followed the previous warning unlogged.
 */
export function exportFailureReporter(metrics: KeelMetrics, logger: Logger): ExportFailureListener {
  const labels = { signal: 'traces' } as const;
  let warnedAt = Number.NEGATIVE_INFINITY;
  let unlogged = 0;
  return (error) => {
    metrics.telemetryExportFailures.increment(labels);
    const now = performance.now();
    if (now - warnedAt < EXPORT_FAILURE_WARN_INTERVAL_MS) {
      unlogged += 1;
      return;
    }
    warnedAt = now;
    logger.warn(
      { error_message: error?.message ?? 'unknown', failures_unlogged: unlogged },
      'span export failed: the spans of that batch are lost (counted in keel_telemetry_export_failures_total)',
    );
    unlogged = 0;
  };
}
