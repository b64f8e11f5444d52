import { type Context, ROOT_CONTEXT } from '@opentelemetry/api';
import { link } from '../compose.js';
import type { Policy } from '../policy.js';
import type { RetryHooks } from '../retry.js';
import { type AttemptPlan, attempt, type Settle } from './attempt.js';
import { now } from './clock.js';
import type { Timed } from './deadline-queue.js';
import { RetryLoop } from './retry-loop.js';
import { Call, type Scope } from './scope.js';

// The executor runs synchronously inside `new Promise`, so a slot hands it the call: no closure per call.
let forming: StandardCall | undefined;

function adopt(resolve: (value: unknown) => void, reject: (reason: unknown) => void): void {
  const call = forming as StandardCall;
  forming = undefined;
  call.resolve = resolve;
  call.reject = reject;
}

/**
 * A call of a standard (fused) pipeline. Its last attempt reports straight to it and it settles the
 * promise `execute` returned, so the pipeline adds no async frame of its own around the attempts.
 */
export class StandardCall extends Call implements Settle, Timed {
  /** The caller's context, and the one the attempts run in (with the call's deadline). */
  context: Context = ROOT_CONTEXT;
  innerContext: Context = ROOT_CONTEXT;
  resolve!: (value: unknown) => void;
  reject!: (reason: unknown) => void;
  /** The caller's signal and the listener on it, removed when the call ends. */
  callerSignal: AbortSignal | undefined = undefined;
  onCallerAbort: (() => void) | undefined = undefined;
  /** Ends the pipeline's bookkeeping of the call (its guard timer, the caller's signal, the in-flight list). */
  done: ((call: StandardCall) => void) | undefined = undefined;
  settled = false;
  timedPrev: Timed | undefined = undefined;
  timedNext: Timed | undefined = undefined;
  timedIn: object | undefined = undefined;

  /** The promise this call settles; create it once, before the first attempt. */
  promise(): Promise<unknown> {
    forming = this;
    return new Promise(adopt);
  }

  ok(value: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.events.active) this.emit('pipeline', 'success', (now() - this.startedAt) / 1000);
    this.done?.(this);
    this.resolve(value);
  }

  fail(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (this.events.active) this.emit('pipeline', 'failure', (now() - this.startedAt) / 1000, error);
    this.done?.(this);
    this.reject(error);
  }
}

/** Runs a call's attempts, with the retry's decisions between them when there is one, reporting to `sink`. */
function begin(
  scope: Scope,
  retry: RetryHooks | undefined,
  plan: AttemptPlan,
  sink: Settle,
  start: number | undefined,
): void {
  if (retry === undefined) attempt(scope, plan, sink, start);
  else new RetryLoop(scope, retry, plan, sink).start(start);
}

/**
 * How a standard pipeline starts a call. With no policy outside the retry (the usual case) the attempts
 * report straight to the call; a fallback or rate limit keeps its promise-based `run` around them.
 */
export function standardLaunch(
  outer: readonly Policy[],
  retry: RetryHooks | undefined,
  plan: AttemptPlan,
): (call: StandardCall) => void {
  // The call was created this very moment, so its start instant is the first attempt's too.
  if (outer.length === 0) return (call) => begin(call, retry, plan, call, call.startedAt);
  const chain = link(
    outer,
    (scope) =>
      new Promise((resolve, reject) => begin(scope, retry, plan, { ok: resolve, fail: reject }, undefined)),
  );
  return (call) => {
    chain(call).then(
      (value) => call.ok(value),
      (error: unknown) => call.fail(error),
    );
  };
}
