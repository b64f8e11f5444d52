import { optionalNumber } from '@keel/resilience/adapter';
import { Counter, collectDefaultMetrics, Registry, type RegistryContentType } from 'prom-client';
import * as catalog from './catalog.js';
import { type DurationHistogram, durationHistogram } from './duration-histogram.js';
import { type EventCounter, eventCounter } from './event-counter.js';
import { renderRegistry } from './exposition.js';
import type { InstrumentContext } from './instrument-context.js';
import { negotiateFormat } from './negotiate.js';
import { type PipelineGaugeOptions, type PipelineGaugeSource, pipelineGauges } from './pipeline-gauges.js';

/** Options of `createMetrics`. */
export interface MetricsOptions {
  /** Registry the instruments register in; never prom-client's global one unless you pass it. @default a new Registry */
  readonly registry?: Registry<RegistryContentType>;
  /** Also collect prom-client's process and Node.js runtime metrics. @default false */
  readonly defaultMetrics?: boolean;
  /** Distinct label sets each metric keeps before new ones fall into its `_overflow` series. @default 2000 */
  readonly seriesLimit?: number;
}

/** One rendered scrape: the body and the `Content-Type` to send with it. */
export interface MetricsText {
  readonly contentType: string;
  readonly body: string;
}

/** The registry, the instruments of DESIGN.md §5 and the scrape renderer, owned by one handle. */
export interface KeelMetrics {
  readonly registry: Registry<RegistryContentType>;
  readonly httpServerDuration: DurationHistogram<catalog.HttpServerLabel>;
  readonly httpClientDuration: DurationHistogram<catalog.HttpClientLabel>;
  readonly rpcServerDuration: DurationHistogram<catalog.RpcLabel>;
  readonly rpcClientDuration: DurationHistogram<catalog.RpcLabel>;
  readonly messagingProcessDuration: DurationHistogram<catalog.MessagingLabel>;
  readonly messagingOperationDuration: DurationHistogram<catalog.MessagingLabel>;
  readonly messagingConsumed: EventCounter<catalog.MessagingLabel>;
  readonly messagingSent: EventCounter<catalog.MessagingLabel>;
  readonly resilienceEvents: EventCounter<catalog.ResilienceEventLabel>;
  readonly resilienceAttemptDuration: DurationHistogram<catalog.ResilienceAttemptLabel>;
  readonly inboundContextDropped: EventCounter<catalog.DroppedContextLabel>;
  readonly telemetryExportFailures: EventCounter<catalog.ExportFailureLabel>;
  /**
   * Exports a pipeline's circuit, bulkhead and budget gauges, read at each scrape; returns the remover.
   * With `weakly`, the source is not kept alive, and its series leave once it is collected.
   */
  addPipelineGauges(source: PipelineGaugeSource, options?: PipelineGaugeOptions): () => void;
  /** Renders a scrape: OpenMetrics with exemplars when `accept` asks for it, Prometheus text 0.0.4 otherwise. */
  metricsText(accept?: string): Promise<MetricsText>;
}

/** Name of the counter of recordings diverted into a metric's overflow series. */
export const SERIES_OVERFLOW_METRIC = 'keel_metric_series_overflow_total';

/**
 * Creates Keel's metrics in their own registry.
 * @example
 * const metrics = createMetrics();
 * metrics.httpServerDuration.record({ http_request_method: 'GET', http_route: '/users/:id' }, 0.012);
 * const { contentType, body } = await metrics.metricsText(req.headers.accept);
 */
export function createMetrics(options: MetricsOptions = {}): KeelMetrics {
  const seriesLimit = optionalNumber(
    'createMetrics',
    'seriesLimit',
    options.seriesLimit,
    2000,
    1,
    Number.POSITIVE_INFINITY,
  );
  const registry = options.registry ?? new Registry();
  const overflow = new Counter<'metric'>({
    name: SERIES_OVERFLOW_METRIC,
    help: 'Recordings that fell into a metric overflow series because the metric reached its series cap.',
    labelNames: ['metric'],
    registers: [registry],
  });
  const context: InstrumentContext = {
    registry,
    seriesLimit,
    overflowCounterFor(metric) {
      const labels = { metric };
      return () => overflow.inc(labels);
    },
  };
  if (options.defaultMetrics === true) collectDefaultMetrics({ register: registry });

  return {
    registry,
    httpServerDuration: durationHistogram(context, catalog.httpServerDuration),
    httpClientDuration: durationHistogram(context, catalog.httpClientDuration),
    rpcServerDuration: durationHistogram(context, catalog.rpcServerDuration),
    rpcClientDuration: durationHistogram(context, catalog.rpcClientDuration),
    messagingProcessDuration: durationHistogram(context, catalog.messagingProcessDuration),
    messagingOperationDuration: durationHistogram(context, catalog.messagingOperationDuration),
    messagingConsumed: eventCounter(context, catalog.messagingConsumed),
    messagingSent: eventCounter(context, catalog.messagingSent),
    resilienceEvents: eventCounter(context, catalog.resilienceEvents),
    resilienceAttemptDuration: durationHistogram(context, catalog.resilienceAttemptDuration),
    inboundContextDropped: eventCounter(context, catalog.inboundContextDropped),
    telemetryExportFailures: eventCounter(context, catalog.telemetryExportFailures),
    addPipelineGauges: pipelineGauges(context),
    async metricsText(accept) {
      const format = negotiateFormat(accept);
      const body = await renderRegistry(registry, format);
      const contentType =
        format === 'openmetrics' ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE;
      return { contentType, body };
    },
  };
}
