// The telemetry every server benchmark starts the same way: spans through a BatchSpanProcessor to an
// exporter that drops and counts them, logs through pino to /dev/null, no process metrics, no trace store.
//
// Logs are written as pino writes them by default (and as Keel's own default logger does): synchronously,
// to a file descriptor — here /dev/null rather than standard output, which is the parent's pipe. With
// `sync: false` and no `minLength`, every line becomes its own write on libuv's thread pool once the
// writer is idle, which costs a loaded server tens of µs per line; the Express benchmark measures that
// case in a row of its own ("asynchronous log destination").

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

/** pino writing to /dev/null: synchronously, as `pino()` writes to standard output, unless `sync` is false. */
export async function devNullLogger({ sync = true } = {}) {
  const { default: pino } = await import('pino');
  return pino(pino.destination({ dest: '/dev/null', sync }));
}

/** Keel's telemetry as every Keel contender runs it; `logger` options as for `devNullLogger`. */
export async function keelTelemetry(processor, logger = {}) {
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
