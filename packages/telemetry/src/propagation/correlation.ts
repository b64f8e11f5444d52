import { randomUUID } from 'node:crypto';
import { ensureContextManager } from '@keel/resilience/adapter';
import { type Context, context, createContextKey } from '@opentelemetry/api';

// Held apart from baggage: it must survive hops whose baggage is dropped at an edge or an egress filter.
const correlationKey = createContextKey('keel.correlation-id');
const VALID = /^[A-Za-z0-9._:-]{1,128}$/;

/** True for a usable correlation ID: 1–128 characters of `[A-Za-z0-9._:-]`. */
export function isValidCorrelationId(value: unknown): value is string {
  // Length is checked before the regex so a huge header costs nothing to reject.
  return typeof value === 'string' && value.length >= 1 && value.length <= 128 && VALID.test(value);
}

/** A fresh correlation ID (a random UUID). */
export function newCorrelationId(): string {
  return randomUUID();
}

/** The correlation ID of `ctx` (default: the active context), if any. */
export function getCorrelationId(ctx: Context = context.active()): string | undefined {
  return ctx.getValue(correlationKey) as string | undefined;
}

/** A context carrying `id`, or a fresh ID when `id` is missing or invalid. */
export function setCorrelationId(ctx: Context, id: string | undefined): Context {
  return ctx.setValue(correlationKey, isValidCorrelationId(id) ? id : newCorrelationId());
}

/** Runs `fn` with `id` (or a fresh ID, when `id` is invalid) as the active correlation ID. */
export function runWithCorrelationId<T>(id: string | undefined, fn: () => T): T {
  ensureContextManager();
  return context.with(setCorrelationId(context.active(), id), fn);
}
