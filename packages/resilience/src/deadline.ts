import { type Context, context, createContextKey } from '@opentelemetry/api';
import { now } from './internal/clock.js';
import { ensureContextManager } from './internal/context-manager.js';
import { checkNumber, MAX_MS } from './internal/validate.js';

// createContextKey uses Symbol.for, so every installed copy of Keel reads the same deadline.
const deadlineKey = createContextKey('keel.deadline');

/**
 * The deadline held in `ctx` (default: the active context), as an absolute instant on the
 * `performance.now()` clock, or `undefined` when none is set.
 */
export function getDeadline(ctx: Context = context.active()): number | undefined {
  return ctx.getValue(deadlineKey) as number | undefined;
}

/**
 * A context whose deadline is the earlier of the one already in `ctx` and `deadline`
 * (an instant on the `performance.now()` clock). A deadline can only shrink on its way down a call chain.
 */
export function setDeadline(ctx: Context, deadline: number): Context {
  const current = ctx.getValue(deadlineKey) as number | undefined;
  if (current !== undefined && current <= deadline) return ctx;
  return ctx.setValue(deadlineKey, deadline);
}

/** Milliseconds left until the deadline of `ctx` (default: the active context); negative once passed, `undefined` when none. */
export function remainingMs(ctx: Context = context.active()): number | undefined {
  const deadline = ctx.getValue(deadlineKey) as number | undefined;
  return deadline === undefined ? undefined : deadline - now();
}

/** Milliseconds from now to an absolute deadline instant. */
export function msUntil(deadline: number): number {
  return deadline - now();
}

/**
 * Runs `fn` with a deadline `ms` from now (or the inherited one, if that is earlier). Every Keel
 * pipeline and adapter inside it bounds its timeouts, backoff sleeps and `Retry-After` waits by it and
 * propagates what remains to the services it calls.
 *
 * @example
 * await runWithDeadline(2_000, () => payments.execute(charge));
 */
export function runWithDeadline<T>(ms: number, fn: () => T): T {
  checkNumber('runWithDeadline', 'argument ms', ms, 0, MAX_MS, false);
  ensureContextManager();
  return context.with(setDeadline(context.active(), now() + ms), fn);
}
