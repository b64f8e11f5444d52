import type { Disposer, Pipeline, ResilienceEvent } from '@keel/resilience';
import { invalidOption } from '@keel/resilience/adapter';

/** What a consumer does when the circuits it watches open and close. */
export interface BreakerControl {
  pause(): void;
  resume(): void;
}

/**
 * Pauses consumption while a watched pipeline's circuit is open: on `break` for the break's duration (the
 * first message afterwards is the half-open probe), on a circuit rejection for its retry-after hint, on
 * `isolate` until `reset`.
 */
export function watchBreakers(
  option: Pipeline | readonly Pipeline[] | undefined,
  owner: string,
  control: BreakerControl,
): { dispose(): void } {
  if (option === undefined) return { dispose() {} };
  const pipelines = Array.isArray(option) ? (option as readonly Pipeline[]) : [option as Pipeline];
  for (const p of pipelines) {
    if (typeof (p as Pipeline | null)?.onEvent !== 'function')
      invalidOption(owner, 'pauseWhileOpen', 'a pipeline or an array of pipelines', option);
  }
  let timer: NodeJS.Timeout | undefined;
  const pauseFor = (ms: number | undefined) => {
    control.pause();
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (ms === undefined) return;
    timer = setTimeout(
      () => {
        timer = undefined;
        control.resume();
      },
      Math.max(1, Math.min(ms, 2_147_483_647)),
    );
    // The channel's socket keeps the process alive while consuming; the timer must not do it alone.
    timer.unref();
  };
  const listener = (event: ResilienceEvent) => {
    if (event.policy !== 'circuit-breaker') return;
    if (event.kind === 'break') pauseFor(event.delayMs ?? 1_000);
    else if (event.kind === 'isolate') pauseFor(undefined);
    else if (event.kind === 'reset') {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      control.resume();
    } else if (event.kind === 'reject') {
      const hint = (event.error as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
      pauseFor(typeof hint === 'number' && Number.isFinite(hint) ? hint : 1_000);
    }
  };
  const disposers: Disposer[] = pipelines.map((p) => p.onEvent(listener));
  return {
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      for (const dispose of disposers) dispose();
    },
  };
}
