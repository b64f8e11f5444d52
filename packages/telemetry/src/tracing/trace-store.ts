import { optionalNumber } from '@keel/resilience/adapter';
import { TraceFlags } from '@opentelemetry/api';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import { type RenderOptions, renderTrace } from './render.js';

/** Bounds of the local trace store. */
export interface TraceStoreOptions {
  /** Traces kept; the least recently updated trace goes first. @default 200 */
  maxTraces?: number;
  /** Spans kept across all traces. @default 10000 */
  maxSpans?: number;
}

/** A span processor that keeps recently finished traces in memory, for looking at without a collector. */
export interface TraceStore extends SpanProcessor {
  /** IDs of the traces held, least recently updated first. */
  traceIds(): string[];
  /** The finished spans of `traceId` in the order they ended; empty when the trace is not held. */
  spans(traceId: string): ReadableSpan[];
  /** The trace that most recently received a finished span. */
  latestTraceId(): string | undefined;
  /** Spans held across all traces. */
  readonly spanCount: number;
  /** A terminal waterfall of `traceId` (default: the latest trace), or a message saying why there is none. */
  render(traceId?: string, options?: RenderOptions): string;
  /** Forgets every trace. */
  clear(): void;
}

interface Held {
  readonly spans: ReadableSpan[];
  dropped: number;
}

function checkLimit(option: string, value: unknown, fallback: number): number {
  return optionalNumber('traceStore', option, value, fallback, 1, Number.POSITIVE_INFINITY);
}

/**
 * Creates a bounded in-memory trace store: at most `maxTraces` traces and `maxSpans` spans, evicting the least
 * recently updated trace first. It keeps what it holds after shutdown, so a trace can still be drawn on exit.
 */
export function traceStore(options: TraceStoreOptions = {}): TraceStore {
  const maxTraces = checkLimit('maxTraces', options.maxTraces, 200);
  const maxSpans = checkLimit('maxSpans', options.maxSpans, 10_000);
  // A Map iterates in insertion order; re-inserting on every span makes that order "least recently updated".
  const traces = new Map<string, Held>();
  let spanCount = 0;
  let stopped = false;

  function evictOldest(keep: string): boolean {
    for (const [id, held] of traces) {
      if (id === keep) continue;
      traces.delete(id);
      spanCount -= held.spans.length;
      return true;
    }
    return false;
  }

  function latestTraceId(): string | undefined {
    let latest: string | undefined;
    for (const id of traces.keys()) latest = id;
    return latest;
  }

  return {
    onStart() {},
    onEnd(span) {
      // Unsampled spans never reach an exporter either; showing them locally would mislead.
      if (stopped || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
      const id = span.spanContext().traceId;
      const held = traces.get(id) ?? { spans: [], dropped: 0 };
      traces.delete(id);
      traces.set(id, held);
      while (spanCount >= maxSpans && evictOldest(id)) {}
      if (spanCount >= maxSpans) {
        held.dropped++;
        return;
      }
      held.spans.push(span);
      spanCount++;
      while (traces.size > maxTraces && evictOldest(id)) {}
    },
    forceFlush: () => Promise.resolve(),
    shutdown() {
      stopped = true;
      return Promise.resolve();
    },
    traceIds: () => [...traces.keys()],
    spans: (traceId) => [...(traces.get(traceId)?.spans ?? [])],
    latestTraceId,
    get spanCount() {
      return spanCount;
    },
    render(traceId, renderOptions) {
      const id = traceId ?? latestTraceId();
      if (id === undefined) return 'No traces recorded yet.';
      const held = traces.get(id);
      if (held === undefined) {
        return `Trace ${id} is not in the trace store: it holds the ${traces.size} most recently updated traces (at most ${maxTraces}).`;
      }
      const text = renderTrace(held.spans, renderOptions);
      return held.dropped === 0
        ? text
        : `${text}\n(${held.dropped} more spans dropped: the store keeps at most ${maxSpans} spans)`;
    },
    clear() {
      traces.clear();
      spanCount = 0;
    },
  };
}
