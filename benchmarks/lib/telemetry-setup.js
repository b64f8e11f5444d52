// The telemetry every server benchmark starts the same way: spans through a BatchSpanProcessor to an
// exporter that drops and counts them, logs through pino to /dev/null, no process metrics, no trace store.
//
// Logs go to /dev/null rather than standard output (the parent's pipe), written in one of three ways:
// - `turn`: Keel's default logger (`turnDestination`): the lines of one event-loop turn in one synchronous
//   write when the turn ends;
// - `sync`: one synchronous write per line (`pino.destination({ sync: true })`);
// - `async`: pino's own default for `pino()` (and so pino-http's): sonic-boom with `sync: false` and no
//   `minLength`, a thread-pool write whenever the writer is idle, lines logged meanwhile waiting for it.
// The OpenTelemetry contenders' pino-http gets `sync`, which costs a loaded server less than its default.

/** A BatchSpanProcessor over an exporter that drops spans and counts them. */
export async function countingBatch() {
  const { BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
  const exporter = {
    exported: 0,
    export(spans, done) {
      this.exported += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  const processor = new BatchSpanProcessor({ exporter });
  return {
    processor,
    usage: async () => {
      await processor.forceFlush();
      return { spans: exporter.exported };
    },
  };
}

/** pino writing to /dev/null; `writes` is `sync`, `turn` (Keel's default) or `async` (pino's default). */
export async function devNullLogger({ writes = 'sync' } = {}) {
  const { default: pino } = await import('pino');
  if (writes === 'turn') {
    const { turnDestination } = await import('@keel/telemetry');
    return pino(turnDestination({ dest: '/dev/null' }));
  }
  if (writes !== 'sync' && writes !== 'async') throw new TypeError(`devNullLogger: unknown writes ${writes}`);
  return pino(pino.destination({ dest: '/dev/null', sync: writes === 'sync' }));
}

/** Keel's telemetry as every Keel contender runs it; `logger` options as for `devNullLogger`, Keel's default writes. */
export async function keelTelemetry(processor, logger = { writes: 'turn' }) {
  const { startTelemetry } = await import('@keel/telemetry');
  return startTelemetry({
    serviceName: 'bench',
    processMetrics: false,
    traceStore: false,
    spanProcessors: [processor],
    logger: await devNullLogger(logger),
  });
}

/** Observations of a duration histogram, to show each request was recorded once. */
export async function histogramCount(registry, name) {
  const metric = await registry.getSingleMetric(name).get();
  return metric.values.filter((v) => v.metricName.endsWith('_count')).reduce((sum, v) => sum + v.value, 0);
}
