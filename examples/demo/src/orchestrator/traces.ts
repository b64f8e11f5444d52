// The spans the services forward, grouped by trace, and the one trace the summary draws.
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { SpanRecord } from '../protocol.js';

const MAX_TRACES = 2_000;
const RESILIENCE_EVENTS = new Set(['retry', 'timeout', 'budget-exhausted', 'give-up']);

interface Entry {
  readonly spans: SpanRecord[];
}

/** How well a trace shows the system: every service it spans, both consumers, and its resilience events. */
function score(spans: readonly SpanRecord[], services: number, consumers: number): number {
  const seen = new Set(spans.map((s) => s.service));
  if (seen.size < services) return 0;
  const processed = new Set(spans.filter((s) => s.name.startsWith('process ')).map((s) => s.service));
  if (processed.size < consumers) return 0;
  const names = spans.flatMap((s) => s.events.map((e) => e.name));
  let points = 1;
  if (names.includes('retry')) points += 4;
  if (names.some((n) => n.startsWith('circuit.'))) points += 2;
  if (names.some((n) => RESILIENCE_EVENTS.has(n) && n !== 'retry')) points += 1;
  return points;
}

/** Keeps the most recent traces (bounded) and the best complete one seen so far. */
export class TraceCollector {
  readonly #traces = new Map<string, Entry>();
  readonly #services: number;
  readonly #consumers: number;
  #best: { traceId: string; score: number } | undefined;
  #bestSpans: SpanRecord[] = [];

  /** `services`: how many services a complete trace spans; `consumers`: how many `process` services it reaches. */
  constructor(services: number, consumers: number) {
    this.#services = services;
    this.#consumers = consumers;
  }

  add(spans: readonly SpanRecord[]): void {
    const touched = new Set<string>();
    for (const span of spans) {
      let entry = this.#traces.get(span.traceId);
      if (entry === undefined) {
        entry = { spans: [] };
        this.#traces.set(span.traceId, entry);
        if (this.#traces.size > MAX_TRACES) {
          const oldest = this.#traces.keys().next().value as string;
          this.#traces.delete(oldest);
        }
      }
      entry.spans.push(span);
      touched.add(span.traceId);
    }
    for (const traceId of touched) {
      const entry = this.#traces.get(traceId);
      if (entry === undefined) continue;
      const points = score(entry.spans, this.#services, this.#consumers);
      const best = this.#best;
      if (points > 0 && (best === undefined || points > best.score || best.traceId === traceId)) {
        this.#best = { traceId, score: Math.max(points, best?.traceId === traceId ? best.score : 0) };
        this.#bestSpans = [...entry.spans];
      }
    }
  }

  /** The spans of the best complete trace, or undefined when none was complete. */
  best(): readonly SpanRecord[] | undefined {
    return this.#best === undefined ? undefined : this.#bestSpans;
  }
}

/** Rebuilds a forwarded span as the `ReadableSpan` shape `renderTrace` reads. */
export function toReadableSpan(record: SpanRecord): ReadableSpan {
  const context = { traceId: record.traceId, spanId: record.spanId, traceFlags: 1 };
  const attributes = { 'service.name': record.service };
  const span = {
    name: record.name,
    kind: record.kind,
    spanContext: () => context,
    parentSpanContext:
      record.parentSpanId === undefined
        ? undefined
        : { traceId: record.traceId, spanId: record.parentSpanId, traceFlags: 1 },
    startTime: record.startTime,
    endTime: record.endTime,
    duration: [record.endTime[0] - record.startTime[0], record.endTime[1] - record.startTime[1]],
    status: record.status,
    attributes: record.attributes,
    links: [],
    events: record.events,
    ended: true,
    resource: {
      attributes,
      asyncAttributesPending: false,
      getRawAttributes: () => Object.entries(attributes),
    },
    instrumentationScope: { name: '@keel/example-demo' },
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
  // The fields above are every one renderTrace reads; the rest of the SDK's span is not needed to draw it.
  return span as unknown as ReadableSpan;
}
