export { DEFAULT_EXPORT_TIMEOUT_MS } from './otlp-processor.js';
export { type RenderOptions, renderTrace } from './render.js';
export { DEFAULT_SHUTDOWN_TIMEOUT_MS, startTracing, type Tracing } from './start-tracing.js';
export { type TraceStore, type TraceStoreOptions, traceStore } from './trace-store.js';
export type { TracingOptions } from './tracing-options.js';
