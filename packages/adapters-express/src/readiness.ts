import type { Pipeline } from '@keel/resilience';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { sendJson } from './internal/respond.js';
import { checkInteger, checkOptions, received } from './internal/validate.js';

/** A named readiness check: resolves true when ready; false, a rejection or a timeout mean not ready. */
export type ReadinessCheck = () => boolean | Promise<boolean>;

/** Options of {@link readiness}. */
export interface ReadinessOptions {
  /** Pipelines whose circuit must not be `open` or `isolated` (`half-open` is ready: it admits probes). @default [] */
  pipelines?: readonly Pick<Pipeline, 'name' | 'circuitState'>[];
  /** More checks by name (a database ping, a cache warm-up flag). @default {} */
  checks?: Readonly<Record<string, ReadinessCheck>>;
  /** How long a check may take before it counts as not ready, in ms. @default 1000 */
  checkTimeoutMs?: number;
}

/** The JSON body of the readiness answer. */
export interface ReadinessBody {
  readonly status: 'ready' | 'not ready';
  /** Names of the pipelines and checks that are not ready. */
  readonly notReady: string[];
  /** Each pipeline's circuit state (`none` without a breaker). */
  readonly pipelines: Record<string, string>;
  readonly checks: Record<string, 'ok' | 'failed' | 'timeout'>;
}

const KNOWN = ['pipelines', 'checks', 'checkTimeoutMs'] as const;
const NOT_READY = new Set(['open', 'isolated']);

/**
 * A readiness probe: 503 while any listed pipeline's circuit is `open` or `isolated` or a check fails,
 * 200 otherwise; the JSON body names what is not ready.
 *
 * @example
 * app.get('/readyz', readiness({ pipelines: [payments, inventory], checks: { db: () => db.ping() } }));
 */
export function readiness(options?: ReadinessOptions): RequestHandler {
  const owner = 'readiness';
  const opts = checkOptions<ReadinessOptions>(owner, options, KNOWN);
  const pipelines = opts.pipelines ?? [];
  if (!Array.isArray(pipelines)) {
    throw new TypeError(
      `${owner}: option pipelines must be an array of pipelines, received ${received(pipelines)}`,
    );
  }
  pipelines.forEach((p: unknown, i) => {
    if (typeof p !== 'object' || p === null || typeof (p as { name?: unknown }).name !== 'string') {
      throw new TypeError(`${owner}: option pipelines[${i}] must be a pipeline, received ${received(p)}`);
    }
  });
  const checks = opts.checks ?? {};
  if (typeof checks !== 'object' || checks === null || Array.isArray(checks)) {
    throw new TypeError(
      `${owner}: option checks must be an object of functions, received ${received(checks)}`,
    );
  }
  const checkNames = Object.keys(checks);
  for (const name of checkNames) {
    if (typeof checks[name] !== 'function') {
      throw new TypeError(
        `${owner}: option checks.${name} must be a function, received ${received(checks[name])}`,
      );
    }
  }
  const timeoutMs = checkInteger(owner, 'checkTimeoutMs', opts.checkTimeoutMs, 1_000, 1, 60_000);

  return function readiness(_req: Request, res: Response, next: NextFunction): void {
    const body: ReadinessBody = { status: 'ready', notReady: [], pipelines: {}, checks: {} };
    for (const p of pipelines) {
      const state = p.circuitState ?? 'none';
      body.pipelines[p.name] = state;
      if (NOT_READY.has(state)) body.notReady.push(p.name);
    }
    Promise.all(
      checkNames.map(async (name) => {
        const result = await runCheck(checks[name] as ReadinessCheck, timeoutMs);
        body.checks[name] = result;
        if (result !== 'ok') body.notReady.push(name);
      }),
    ).then(() => {
      const ready = body.notReady.length === 0;
      sendJson(res, ready ? 200 : 503, ready ? body : { ...body, status: 'not ready' });
    }, next);
  };
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
