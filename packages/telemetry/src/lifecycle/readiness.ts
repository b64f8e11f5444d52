import type { CircuitState } from '@keel/resilience';
import { checkBoolean, checkOptions, invalidOption, optionalNumber } from '@keel/resilience/adapter';

/** A readiness check of the service's own: resolves true when ready; false, a rejection or a timeout mean not ready. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

/** Where the service is in its life: not ready while `starting` and, for good, once `stopping`. */
export type ReadinessPhase = 'starting' | 'serving' | 'stopping';

/** Anything with a name and a circuit: a `@keel/resilience` pipeline, `httpClient(...).pipeline`. */
export interface CircuitSource {
  readonly name: string;
  readonly circuitState: CircuitState | undefined;
}

/**
 * A dependency whose circuit readiness reports: a pipeline or anything holding one (an `httpClient`), reported
 * only; or `{ pipeline, required: true }` for one this service cannot serve without, which makes it not
 * ready while its circuit is `open` or `isolated`.
 */
export type ReadinessDependency =
  | CircuitSource
  | { readonly pipeline: CircuitSource; readonly required?: boolean };

/** Options of {@link createReadiness}. */
export interface ReadinessOptions {
  /** Dependencies whose circuit state the report shows; only `required` ones can make the service unready. @default [] */
  pipelines?: readonly ReadinessDependency[];
  /** The service's own critical resources by name (a database ping, a warmed cache). @default {} */
  checks?: Readonly<Record<string, ReadinessCheck>>;
  /** How long a check may take before it counts as not ready, in ms. @default 1000 */
  checkTimeoutMs?: number;
  /** False when the service must warm up first: it is `starting` (not ready) until `markStarted()`. @default true */
  started?: boolean;
}

/** What a readiness probe reports (the JSON body of `/readyz`). */
export interface ReadinessReport {
  readonly status: 'ready' | 'not ready';
  readonly phase: ReadinessPhase;
  /** What makes the service not ready: the phase (`starting`, `stopping`), required dependencies, failed checks. */
  readonly notReady: readonly string[];
  /** Each dependency's circuit state (`none` without a breaker) and whether it is required. */
  readonly pipelines: Readonly<
    Record<string, { readonly state: CircuitState | 'none'; readonly required: boolean }>
  >;
  /** Each check's result; empty while `starting` or `stopping`, when checks are not run. */
  readonly checks: Readonly<Record<string, 'ok' | 'failed' | 'timeout'>>;
}

/**
 * The service's readiness, one model for every transport: `/readyz` in `@keel/express` renders it, the
 * gRPC health service reports it, and `gracefulShutdown()` turns it to `stopping`.
 */
export interface Readiness {
  readonly phase: ReadinessPhase;
  /** `starting` → `serving`; no effect in any other phase. */
  markStarted(): void;
  /** → `stopping`, for good: every later report is not ready. */
  markStopping(): void;
  /** Calls `listener` on each phase change; returns its disposer. */
  onPhase(listener: (phase: ReadinessPhase) => void): () => void;
  /** Runs the checks (bounded by `checkTimeoutMs`, never rejects) and reports. */
  check(): Promise<ReadinessReport>;
}

const OWNER = 'createReadiness';
const KNOWN = ['pipelines', 'checks', 'checkTimeoutMs', 'started'] as const;
const DOWN = new Set<string>(['open', 'isolated']);

interface Dependency {
  readonly pipeline: CircuitSource;
  readonly required: boolean;
}

/**
 * Makes the readiness model of a service. It is ready while it is `serving`, every check passes and no
 * *required* dependency's circuit is open; other dependencies are reported and never make it unready, so a
 * downstream outage does not take this healthy service out of its load balancer too.
 *
 * @example
 * const readiness = createReadiness({
 *   pipelines: [payments.pipeline, { pipeline: ledgerDb, required: true }],
 *   checks: { db: () => db.ping() },
 * });
 */
export function createReadiness(options?: ReadinessOptions): Readiness {
  const opts = checkOptions<ReadinessOptions>(OWNER, options, KNOWN);
  const dependencies = checkDependencies(opts.pipelines);
  const checks = opts.checks ?? {};
  if (typeof checks !== 'object' || checks === null || Array.isArray(checks)) {
    invalidOption(OWNER, 'checks', 'an object of functions', checks);
  }
  const checkNames = Object.keys(checks);
  for (const name of checkNames) {
    if (typeof checks[name] !== 'function')
      invalidOption(OWNER, `checks.${name}`, 'a function', checks[name]);
  }
  const timeoutMs = optionalNumber(OWNER, 'checkTimeoutMs', opts.checkTimeoutMs, 1_000, 1, 60_000);
  let phase: ReadinessPhase = checkBoolean(OWNER, 'started', opts.started, true) ? 'serving' : 'starting';
  const listeners = new Set<(phase: ReadinessPhase) => void>();

  function enter(next: ReadinessPhase): void {
    if (phase === next) return;
    phase = next;
    for (const listener of [...listeners]) listener(next);
  }

  return {
    get phase() {
      return phase;
    },
    markStarted() {
      if (phase === 'starting') enter('serving');
    },
    markStopping() {
      enter('stopping');
    },
    onPhase(listener) {
      if (typeof listener !== 'function')
        invalidOption('readiness.onPhase', 'argument listener', 'a function', listener);
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    async check() {
      const notReady: string[] = [];
      const pipelines: Record<string, { state: CircuitState | 'none'; required: boolean }> = {};
      const results: Record<string, 'ok' | 'failed' | 'timeout'> = {};
      const current = phase;
      if (current !== 'serving') notReady.push(current);
      for (const { pipeline, required } of dependencies) {
        const state = pipeline.circuitState ?? 'none';
        pipelines[pipeline.name] = { state, required };
        if (required && DOWN.has(state)) notReady.push(pipeline.name);
      }
      if (current === 'serving') {
        await Promise.all(
          checkNames.map(async (name) => {
            const result = await runCheck(checks[name] as ReadinessCheck, timeoutMs);
            results[name] = result;
            if (result !== 'ok') notReady.push(name);
          }),
        );
      }
      // The phase may have moved on while the checks ran: a report never says ready once stopping began.
      if (phase !== current && phase !== 'serving' && !notReady.includes(phase)) notReady.unshift(phase);
      return {
        status: notReady.length === 0 ? 'ready' : 'not ready',
        phase,
        notReady,
        pipelines,
        checks: results,
      };
    },
  };
}

function checkDependencies(value: unknown): Dependency[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalidOption(OWNER, 'pipelines', 'an array of pipelines', value);
  return value.map((entry: unknown, i): Dependency => {
    if (isCircuitSource(entry)) return { pipeline: entry, required: false };
    if (typeof entry === 'object' && entry !== null && 'pipeline' in entry) {
      const { pipeline, required } = entry as { pipeline: unknown; required?: unknown };
      if (!isCircuitSource(pipeline))
        invalidOption(OWNER, `pipelines[${i}].pipeline`, 'a pipeline', pipeline);
      return { pipeline, required: checkBoolean(OWNER, `pipelines[${i}].required`, required, false) };
    }
    return invalidOption(OWNER, `pipelines[${i}]`, 'a pipeline or { pipeline, required }', entry);
  });
}

function isCircuitSource(value: unknown): value is CircuitSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    'circuitState' in value
  );
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<'ok' | 'failed' | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, 'timeout');
    timer.unref();
  });
  try {
    const outcome = await Promise.race([Promise.resolve().then(check), expired]);
    return outcome === 'timeout' ? 'timeout' : outcome === true ? 'ok' : 'failed';
  } catch {
    return 'failed';
  } finally {
    clearTimeout(timer);
  }
}
