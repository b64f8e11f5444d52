import type { InstrumentDefinition } from './instrument-context.js';

/** Labels of `http_server_request_duration_seconds`. */
export type HttpServerLabel =
  | 'http_request_method'
  | 'http_route'
  | 'http_response_status_code'
  | 'error_type';
/** Labels of `http_client_request_duration_seconds`. */
export type HttpClientLabel =
  | 'http_request_method'
  | 'http_response_status_code'
  | 'server_address'
  | 'server_port'
  | 'error_type';
/** Labels of the gRPC call duration histograms. */
export type RpcLabel = 'rpc_system_name' | 'rpc_method' | 'rpc_status_code' | 'error_type';
/** Labels of the messaging histograms and counters. */
export type MessagingLabel =
  | 'messaging_system'
  | 'messaging_operation_type'
  | 'messaging_destination_name'
  | 'error_type';
/** Labels of `resilience_events_total`. */
export type ResilienceEventLabel = 'pipeline' | 'policy' | 'event';
/** Labels of `resilience_attempt_duration_seconds`. */
export type ResilienceAttemptLabel = 'pipeline' | 'outcome';

const HTTP_SERVER: readonly HttpServerLabel[] = [
  'http_request_method',
  'http_route',
  'http_response_status_code',
  'error_type',
];
const HTTP_CLIENT: readonly HttpClientLabel[] = [
  'http_request_method',
  'http_response_status_code',
  'server_address',
  'server_port',
  'error_type',
];
const RPC: readonly RpcLabel[] = ['rpc_system_name', 'rpc_method', 'rpc_status_code', 'error_type'];
const MESSAGING: readonly MessagingLabel[] = [
  'messaging_system',
  'messaging_operation_type',
  'messaging_destination_name',
  'error_type',
];

// Names are the Prometheus translation of the OpenTelemetry semantic conventions (DESIGN.md §5).

/** Definition of `http_server_request_duration_seconds`. */
export const httpServerDuration: InstrumentDefinition<HttpServerLabel> = {
  name: 'http_server_request_duration_seconds',
  help: 'Duration of HTTP server requests.',
  labelNames: HTTP_SERVER,
};
/** Definition of `http_client_request_duration_seconds`. */
export const httpClientDuration: InstrumentDefinition<HttpClientLabel> = {
  name: 'http_client_request_duration_seconds',
  help: 'Duration of HTTP client requests, one observation per physical attempt.',
  labelNames: HTTP_CLIENT,
};
/** Definition of `rpc_server_call_duration_seconds`. */
export const rpcServerDuration: InstrumentDefinition<RpcLabel> = {
  name: 'rpc_server_call_duration_seconds',
  help: 'Duration of RPCs received by the server.',
  labelNames: RPC,
};
/** Definition of `rpc_client_call_duration_seconds`. */
export const rpcClientDuration: InstrumentDefinition<RpcLabel> = {
  name: 'rpc_client_call_duration_seconds',
  help: 'Duration of RPCs sent by the client.',
  labelNames: RPC,
};
/** Definition of `messaging_process_duration_seconds`. */
export const messagingProcessDuration: InstrumentDefinition<MessagingLabel> = {
  name: 'messaging_process_duration_seconds',
  help: 'Duration of processing one received message.',
  labelNames: MESSAGING,
};
/** Definition of `messaging_client_operation_duration_seconds`. */
export const messagingOperationDuration: InstrumentDefinition<MessagingLabel> = {
  name: 'messaging_client_operation_duration_seconds',
  help: 'Duration of messaging operations initiated by a producer or consumer client.',
  labelNames: MESSAGING,
};
/** Definition of `messaging_client_consumed_messages_total`. */
export const messagingConsumed: InstrumentDefinition<MessagingLabel> = {
  name: 'messaging_client_consumed_messages_total',
  help: 'Messages delivered to a consumer.',
  labelNames: MESSAGING,
};
/** Definition of `messaging_client_sent_messages_total`. */
export const messagingSent: InstrumentDefinition<MessagingLabel> = {
  name: 'messaging_client_sent_messages_total',
  help: 'Messages a producer attempted to send.',
  labelNames: MESSAGING,
};
/** Definition of `resilience_events_total`. */
export const resilienceEvents: InstrumentDefinition<ResilienceEventLabel> = {
  name: 'resilience_events_total',
  help: 'Resilience policy decisions (retry, timeout, break, reject, ...).',
  labelNames: ['pipeline', 'policy', 'event'],
};
/** Definition of `resilience_attempt_duration_seconds`. */
export const resilienceAttemptDuration: InstrumentDefinition<ResilienceAttemptLabel> = {
  name: 'resilience_attempt_duration_seconds',
  help: 'Duration of each attempt a resilience pipeline makes.',
  labelNames: ['pipeline', 'outcome'],
};
/** Labels of `keel_inbound_context_dropped_total`. */
export type DroppedContextLabel = 'header' | 'reason';
/** Labels of `keel_telemetry_export_failures_total`. */
export type ExportFailureLabel = 'signal';

/** Definition of `keel_inbound_context_dropped_total`. */
export const inboundContextDropped: InstrumentDefinition<DroppedContextLabel> = {
  name: 'keel_inbound_context_dropped_total',
  help: 'Inbound context headers dropped or replaced because they were invalid or over their limits.',
  labelNames: ['header', 'reason'],
};
/** Definition of `keel_telemetry_export_failures_total`. */
export const telemetryExportFailures: InstrumentDefinition<ExportFailureLabel> = {
  name: 'keel_telemetry_export_failures_total',
  help: 'Telemetry exports that failed; the data of a failed export is lost.',
  labelNames: ['signal'],
};
