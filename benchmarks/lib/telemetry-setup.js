// The telemetry every server benchmark starts the same way: spans through a BatchSpanProcessor to an
// exporter that drops and counts them, logs through pino to /dev/null, no process metrics, no trace store.

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

/** pino writing asynchronously to /dev/null. */
export async function devNullLogger() {
  const { default: pino } = await import('pino');
  return pino(pino.destination({ dest: '/dev/null', sync: false }));
}

/** Keel's telemetry as every Keel contender runs it. */
export async function keelTelemetry(processor) {
  const { startTelemetry } = await import('@keel/telemetry');
  return startTelemetry({
    serviceName: 'bench',
    processMetrics: false,
    traceStore: false,
    spanProcessors: [processor],
    logger: await devNullLogger(),
  });
}

/** Observations of a duration histogram, to show each request was recorded once. */
export async function histogramCount(registry, name) {
  const metric = await registry.getSingleMetric(name).get();
  return metric.values.filter((v) => v.metricName.endsWith('_count')).reduce((sum, v) => sum + v.value, 0);
}
