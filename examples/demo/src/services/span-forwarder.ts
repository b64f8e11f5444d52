import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { ChildMessage, SpanRecord } from '../protocol.js';

const BATCH_MS = 200;
const MAX_BATCH = 500;

function plain(value: Record<string, unknown> | undefined): Record<string, unknown> {
  return value === undefined ? {} : { ...value };
}

/** A finished span as the JSON the orchestrator rebuilds for `renderTrace`. */
export function toRecord(span: ReadableSpan, service: string): SpanRecord {
  const context = span.spanContext();
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    name: span.name,
    kind: span.kind,
    service,
    startTime: [span.startTime[0], span.startTime[1]],
    endTime: [span.endTime[0], span.endTime[1]],
    status: { code: span.status.code, message: span.status.message },
    attributes: plain(span.attributes),
    events: span.events.map((event) => ({
      name: event.name,
      time: [event.time[0], event.time[1]],
      attributes: plain(event.attributes),
    })),
  };
}

/**
 * A span processor that sends finished spans to the parent process over the IPC channel, in batches, so the
 * orchestrator can draw one trace across all five services without a collector.
 */
export function ipcSpanForwarder(service: string): SpanProcessor {
  let batch: SpanRecord[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (batch.length === 0) return;
    const message: ChildMessage = { type: 'spans', spans: batch };
    batch = [];
    // Without the orchestrator there is nobody to draw them: the spans are dropped.
    if (process.connected) process.send?.(message);
  };
  return {
    onStart(_span: Span, _context: Context) {},
    onEnd(span: ReadableSpan) {
      batch.push(toRecord(span, service));
      if (batch.length >= MAX_BATCH) flush();
      else timer ??= setTimeout(flush, BATCH_MS).unref();
    },
    async forceFlush() {
      flush();
    },
    async shutdown() {
      flush();
    },
  };
}
