import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import { formatDuration, formatValue, msBetween } from './format.js';

const MAX_EVENT_ATTRIBUTES = 4;

/** The `service.name` of a span's resource, read without waiting on async resource attributes. */
export function serviceOf(span: ReadableSpan): string {
  const resource = span.resource;
  if (!resource.asyncAttributesPending) return String(resource.attributes['service.name'] ?? '?');
  // Reading `attributes` while host detection is pending logs an SDK error; the name itself is never async.
  const raw = resource
    .getRawAttributes()
    .find(([key, value]) => key === 'service.name' && typeof value === 'string');
  return raw === undefined ? '?' : String(raw[1]);
}

/** `error: <why>` for a failed span: its status message, else its exception, else its `error.type`. */
export function errorText(span: ReadableSpan): string {
  const exception = span.events.find((event) => event.name === 'exception');
  const why =
    span.status.message || exception?.attributes?.['exception.message'] || span.attributes['error.type'];
  return why === undefined || why === '' ? 'error' : `error: ${formatValue(why, 200)}`;
}

/** One event on one line: name, offset from the span's start, and its attributes in brief. */
export function eventText(event: TimedEvent, span: ReadableSpan): string {
  const offset = `+${formatDuration(Math.max(0, msBetween(span.startTime, event.time)))}`;
  const attributes = event.attributes ?? {};
  if (event.name === 'exception') {
    const detail = [attributes['exception.type'], attributes['exception.message']].filter(
      (v) => v !== undefined,
    );
    return `${event.name} ${offset}  ${detail.map((v) => formatValue(v, 120)).join(': ')}`.trimEnd();
  }
  const entries = Object.entries(attributes);
  // Keel's own attributes share one prefix; dropping it keeps a retry line short enough to scan.
  const shown = entries
    .slice(0, MAX_EVENT_ATTRIBUTES)
    .map(([k, v]) => `${k.replace(/^keel\./, '')}=${formatValue(v)}`);
  if (entries.length > MAX_EVENT_ATTRIBUTES) shown.push(`+${entries.length - MAX_EVENT_ATTRIBUTES} more`);
  return `${event.name} ${offset}  ${shown.join(' ')}`.trimEnd();
}
