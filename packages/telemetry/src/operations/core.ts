import type { Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { KeelMetrics } from '../metrics/index.js';
import type { KeelPropagator } from '../propagation/propagator.js';

/** What every operation helper needs from a started telemetry: the seams adapters never touch directly. */
export interface OperationCore {
  readonly tracer: Tracer;
  readonly metrics: KeelMetrics;
  readonly logger: Logger;
  readonly propagator: KeelPropagator;
  /** Whether baggage, tracestate and the correlation ID may be sent to `host` (traceparent always is). */
  allowsFullContext(host: string): boolean;
}
