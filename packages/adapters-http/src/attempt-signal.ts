import type { ExecuteContext } from '@keel/resilience';
import type { AbortListener } from '@keel/resilience/adapter';

type Listener = () => void;

/**
 * The `signal` an attempt hands to undici: an EventEmitter-shaped object (undici documents
 * `AbortSignal | EventEmitter`) that hears the attempt's abort through the pipeline's own listener list.
 * An `AbortSignal` per attempt costs an `AbortController`, an EventTarget listener map and Node's
 * `addAbortListener` bookkeeping; this costs one small object. It has no `aborted` property on purpose:
 * undici reads that as "a real AbortSignal" and hands it to Node, which would reject it. undici reads
 * `reason` when the abort arrives.
 */
export class AttemptSignal implements AbortListener {
  reason: Error | undefined = undefined;
  #listener: Listener | undefined = undefined;
  readonly #ctx: ExecuteContext;

  constructor(ctx: ExecuteContext) {
    this.#ctx = ctx;
  }

  on(_event: 'abort', listener: Listener): this {
    return this.once(_event, listener);
  }

  once(_event: 'abort', listener: Listener): this {
    // undici registers one listener per request.
    this.#listener = listener;
    this.#ctx.listen(this);
    return this;
  }

  removeListener(_event: 'abort', _listener: Listener): this {
    this.#listener = undefined;
    this.#ctx.unlisten(this);
    return this;
  }

  onAbort(reason: Error): void {
    this.reason = reason;
    const listener = this.#listener;
    this.#listener = undefined;
    listener?.();
  }

  /** Stops listening; call when the attempt has settled, whether or not undici removed its listener. */
  release(): void {
    if (this.#listener !== undefined) this.removeListener('abort', this.#listener);
  }
}
