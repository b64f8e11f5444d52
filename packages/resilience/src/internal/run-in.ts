import { type Context, context } from '@opentelemetry/api';

/**
 * Calls `fn(...args)` with `ctx` active. Skips `context.with` when `ctx` is already active, so a
 * process that never entered a context does not switch AsyncLocalStorage's hooks on here.
 */
export function runIn<A extends unknown[]>(ctx: Context, fn: (...args: A) => void, ...args: A): void {
  if (context.active() === ctx) fn(...args);
  else context.with(ctx, fn, undefined, ...args);
}
