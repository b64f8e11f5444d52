import { constants } from 'node:os';
import { CancelledError } from '@keel/resilience';
import { checkOptions, invalidOption, optionalNumber, optionOutOfRange } from '@keel/resilience/adapter';
import { drainHttpServer } from './drain-http-server.js';
import {
  type Closable,
  type Drainable,
  type HttpServerLike,
  isDrainable,
  isHttpServer,
} from './drainable.js';
import type { Readiness } from './readiness.js';

/** The logger the sequence reports to: a pino logger, such as `telemetry.logger`. */
interface ShutdownLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Options of {@link gracefulShutdown}. */
export interface GracefulShutdownOptions {
  /** The readiness model to turn `stopping` first, so probes answer 503 at once. */
  readiness?: Readiness;
  /** Servers and consumers to drain, in parallel: `node:http` servers (`app.listen()`) and {@link Drainable}s (gRPC servers, consumers). @default [] */
  drain?: readonly (HttpServerLike | Drainable)[];
  /** Outbound clients and other resources to close once everything is drained, in parallel. @default [] */
  close?: readonly Closable[];
  /** The telemetry handle to flush and stop last; its logger reports each step. */
  telemetry?: { shutdown(): Promise<void>; readonly logger?: ShutdownLogger };
  /** Signals that start the sequence; their listeners are removed when it starts, so a second signal acts as usual. @default ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
  /** How long in-flight work may run before it is cancelled through its signal, in ms. @default 10000 */
  gracePeriodMs?: number;
  /** How long to keep serving after readiness turned 503, before refusing connections, in ms: the time a load balancer needs to notice. @default 0 */
  drainDelayMs?: number;
  /** Bound of each later step: cancelled work winding down, closing clients, in ms. @default 5000 */
  closeTimeoutMs?: number;
}

/** What one run of the sequence did. */
export interface ShutdownResult {
  /** The signal that started it, or the reason given to `shutdown()`. */
  readonly reason: string;
  /** False when the grace period ended with work in flight, which was cancelled. */
  readonly drained: boolean;
  /** Steps that failed or outlived their bound (named after the drainable or closable). */
  readonly failures: readonly { readonly step: string; readonly error: unknown }[];
  /** How long the whole sequence took. */
  readonly durationMs: number;
}

/** The handle {@link gracefulShutdown} returns. */
export interface GracefulShutdown {
  /** `running` until the sequence starts, `stopping` during it, `stopped` after. */
  readonly state: 'running' | 'stopping' | 'stopped';
  /** Runs the sequence (once: later calls, and the signals, share the same run). Never rejects. */
  shutdown(reason?: string): Promise<ShutdownResult>;
}

const OWNER = 'gracefulShutdown';
const KNOWN = [
  'readiness',
  'drain',
  'close',
  'telemetry',
  'signals',
  'gracePeriodMs',
  'drainDelayMs',
  'closeTimeoutMs',
] as const;
const UNCATCHABLE = new Set(['SIGKILL', 'SIGSTOP']);

/**
 * One graceful shutdown for a whole service. On SIGTERM or SIGINT (or `shutdown()`): readiness turns 503;
 * servers stop accepting, close idle keep-alive connections and finish in-flight requests, and consumers
 * finish the messages they hold, within `gracePeriodMs` — then what is left is cancelled through its
 * signal; outbound clients close; telemetry flushes; the signal listeners are gone, and the process exits
 * by itself once nothing else holds it. Call it right after the servers are listening: a server's
 * in-flight requests are known from then on.
 *
 * @example
 * const server = app.listen(8080);
 * gracefulShutdown({ readiness, drain: [server], close: [payments], telemetry });
 */
export function gracefulShutdown(options: GracefulShutdownOptions): GracefulShutdown {
  const opts = checkOptions<GracefulShutdownOptions>(OWNER, options, KNOWN);
  const readiness = checkReadiness(opts.readiness);
  const drainables = checkList(opts.drain, 'drain').map((entry, i): Drainable => {
    if (isDrainable(entry)) return entry;
    if (isHttpServer(entry)) return drainHttpServer(entry);
    return invalidOption(
      OWNER,
      `drain[${i}]`,
      'a node:http server or a Drainable (with drain(signal))',
      entry,
    );
  });
  const closables = checkList(opts.close, 'close').map((entry, i): { name: string; close: () => unknown } => {
    if (typeof entry === 'function')
      return { name: entry.name || `close[${i}]`, close: entry as () => unknown };
    if (
      typeof entry === 'object' &&
      entry !== null &&
      typeof (entry as { close?: unknown }).close === 'function'
    ) {
      const named = entry as { name?: unknown; close(): unknown };
      return {
        name: typeof named.name === 'string' ? named.name : `close[${i}]`,
        close: () => named.close(),
      };
    }
    return invalidOption(OWNER, `close[${i}]`, 'a function or an object with close()', entry);
  });
  const telemetry = opts.telemetry;
  if (
    telemetry !== undefined &&
    (typeof telemetry !== 'object' || telemetry === null || typeof telemetry.shutdown !== 'function')
  ) {
    invalidOption(OWNER, 'telemetry', 'the handle startTelemetry() returned', telemetry);
  }
  const signals = checkSignals(opts.signals);
  const gracePeriodMs = optionalNumber(OWNER, 'gracePeriodMs', opts.gracePeriodMs, 10_000, 0, 3_600_000);
  const drainDelayMs = optionalNumber(OWNER, 'drainDelayMs', opts.drainDelayMs, 0, 0, 600_000);
  const closeTimeoutMs = optionalNumber(OWNER, 'closeTimeoutMs', opts.closeTimeoutMs, 5_000, 1, 600_000);
  const logger = telemetry?.logger;

  let state: GracefulShutdown['state'] = 'running';
  let run: Promise<ShutdownResult> | undefined;

  const onSignal = (signal: NodeJS.Signals): void => {
    void shutdown(signal).then((result) => {
      // The process exits by itself; a failed step still shows in its exit status.
      if (result.failures.length > 0 && !process.exitCode) process.exitCode = 1;
    });
  };
  for (const signal of signals) process.on(signal, onSignal);

  function shutdown(reason = 'shutdown()'): Promise<ShutdownResult> {
    run ??= sequence(String(reason));
    return run;
  }

  async function sequence(reason: string): Promise<ShutdownResult> {
    state = 'stopping';
    for (const signal of signals) process.off(signal, onSignal);
    const started = performance.now();
    const failures: { step: string; error: unknown }[] = [];
    readiness?.markStopping();
    logger?.info({ reason, gracePeriodMs }, 'shutting down');
    if (drainDelayMs > 0) await delay(drainDelayMs);

    const grace = new AbortController();
    const graceTimer = setTimeout(() => {
      grace.abort(new CancelledError('the service shut down before this work finished'));
    }, gracePeriodMs);
    await settle(
      drainables.map((d, i) => ({ name: d.name ?? `drain[${i}]`, run: () => d.drain(grace.signal) })),
      failures,
      // Cancelled work gets closeTimeoutMs more to wind down once the grace period is over.
      () => afterAbort(grace.signal, closeTimeoutMs),
    );
    clearTimeout(graceTimer);
    const cancelled = grace.signal.aborted;
    if (cancelled) logger?.warn({ gracePeriodMs }, 'grace period over: in-flight work cancelled');

    await settle(
      closables.map((c) => ({ name: c.name, run: c.close })),
      failures,
      () => delayed(closeTimeoutMs),
    );
    const durationMs = Math.round(performance.now() - started);
    for (const { step, error } of failures) logger?.error({ step, err: error }, 'shutdown step failed');
    logger?.info({ reason, durationMs, drained: !cancelled }, 'shut down');
    if (telemetry !== undefined) {
      try {
        await telemetry.shutdown();
      } catch (error) {
        failures.push({ step: 'telemetry', error });
      }
    }
    state = 'stopped';
    return { reason, drained: !cancelled, failures, durationMs };
  }

  return {
    get state() {
      return state;
    },
    shutdown,
  };
}

/**
 * Runs every step in parallel and waits for all of them, or until `bound()` resolves; a step that
 * rejects or is still running then is recorded as failed. The bound's timer is always cleared.
 */
async function settle(
  steps: readonly { name: string; run: () => unknown }[],
  failures: { step: string; error: unknown }[],
  bound: () => { promise: Promise<void>; cancel(): void },
): Promise<void> {
  if (steps.length === 0) return;
  const pending = new Set(steps.keys());
  const limit = bound();
  try {
    await Promise.race([
      Promise.all(
        steps.map(async (step, i) => {
          try {
            await step.run();
          } catch (error) {
            failures.push({ step: step.name, error });
          } finally {
            pending.delete(i);
          }
        }),
      ),
      limit.promise,
    ]);
  } finally {
    limit.cancel();
  }
  for (const i of pending) {
    const { name } = steps[i] as { name: string };
    failures.push({ step: name, error: new Error(`${name} was still running when shutdown moved on`) });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function delayed(ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Resolves `ms` after `signal` aborts; never while it does not. */
function afterAbort(signal: AbortSignal, ms: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const promise = new Promise<void>((resolve) => {
    onAbort = () => {
      timer = setTimeout(resolve, ms);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return {
    promise,
    cancel: () => {
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
      clearTimeout(timer);
    },
  };
}

function checkReadiness(value: unknown): Readiness | undefined {
  if (value === undefined) return undefined;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof (value as Readiness).markStopping !== 'function'
  ) {
    invalidOption(OWNER, 'readiness', 'the model createReadiness() returned', value);
  }
  return value as Readiness;
}

function checkList(value: unknown, option: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalidOption(OWNER, option, 'an array', value);
  return value;
}

function checkSignals(value: unknown): NodeJS.Signals[] {
  if (value === undefined) return ['SIGTERM', 'SIGINT'];
  if (!Array.isArray(value)) invalidOption(OWNER, 'signals', 'an array of signal names', value);
  return value.map((signal: unknown, i) => {
    if (typeof signal !== 'string' || !(signal in constants.signals)) {
      invalidOption(OWNER, `signals[${i}]`, "a signal name such as 'SIGTERM'", signal);
    }
    if (UNCATCHABLE.has(signal))
      optionOutOfRange(OWNER, `signals[${i}]`, 'a signal a process can catch', signal);
    return signal as NodeJS.Signals;
  });
}
