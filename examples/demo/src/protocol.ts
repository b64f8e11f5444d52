// The messages the orchestrator and its service processes exchange over the fork IPC channel.

/** The five services of the demo, in start order of the synchronous chain. */
export type ServiceName = 'payments' | 'orders' | 'gateway' | 'inventory' | 'notifications';

/** How payments behaves during a phase. */
export type Phase = 'healthy' | 'degraded' | 'outage' | 'recovery';

/** What a service needs to start, passed as JSON in `KEEL_DEMO_CONFIG`. */
export interface ServiceConfig {
  readonly service: ServiceName;
  /** This run's ID: names its queues and exchanges. */
  readonly run: string;
  /** Port of the `/metrics` listener; 0 picks a free one. */
  readonly metricsPort: number;
  /** Address the `/metrics` listener binds to. */
  readonly metricsHost: string;
  /** The broker, or undefined when the messaging leg is skipped. */
  readonly amqpUrl?: string | undefined;
  /** Base URL of payments (orders only). */
  readonly paymentsUrl?: string;
  /** `host:port` of the orders gRPC server (gateway only). */
  readonly ordersAddress?: string;
}

/** A finished span as plain JSON: the fields `renderTrace` reads. */
export interface SpanRecord {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly service: string;
  readonly startTime: [number, number];
  readonly endTime: [number, number];
  readonly status: { readonly code: number; readonly message?: string | undefined };
  readonly attributes: Record<string, unknown>;
  readonly events: readonly {
    readonly name: string;
    readonly time: [number, number];
    readonly attributes: Record<string, unknown>;
  }[];
}

/** Child → orchestrator. */
export type ChildMessage =
  | { readonly type: 'ready'; readonly metricsPort: number; readonly port?: number }
  | { readonly type: 'spans'; readonly spans: readonly SpanRecord[] };

/** Orchestrator → child. */
export type ParentMessage = { readonly type: 'phase'; readonly phase: Phase } | { readonly type: 'stop' };

/** The environment variable carrying a service's `ServiceConfig`. */
export const CONFIG_ENV = 'KEEL_DEMO_CONFIG';
