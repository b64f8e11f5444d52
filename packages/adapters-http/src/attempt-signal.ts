import { EventEmitter } from 'node:events';
import type { ExecuteContext } from '@keel/resilience';
import type { AbortListener } from '@keel/resilience/adapter';

/**
 * The `signal` an attempt hands to undici: an `EventEmitter` (undici documents `AbortSignal | EventEmitter`)
 * that emits `abort` when the pipeline aborts the attempt, heard through the pipeline's own listener list.
 * An `AbortSignal` per attempt costs an `AbortController` plus Node's `addAbortListener` bookkeeping, several
 * times an emitter's. The attempt's rejection never depends on what undici reads off the emitter: it is the
 * pipeline's reason (see sendAttempt).
 */
export class AttemptSignal extends EventEmitter implements AbortListener {
  /** The pipeline's reason, once it aborted the attempt. */
  reason: Error | undefined = undefined;
  readonly #ctx: ExecuteContext;

  constructor(ctx: ExecuteContext) {
    super();
    this.#ctx = ctx;
    ctx.listen(this);
  }

  onAbort(reason: Error): void {
    this.reason = reason;
    this.emit('abort');
  }

  /** Stops listening; call when the attempt has settled, whether or not undici removed its listener. */
  release(): void {
    this.#ctx.unlisten(this);
    this.removeAllListeners('abort');
  }
}
