// The client configurations effectiveness.js compares (six in every scenario, two more where their feature is meant to help). Each wraps `attempt(signal)` — one HTTP
// request that rejects on a non-2xx answer — and returns `{ call(), dispose() }`.

/** The per-attempt timeout of the configurations without one of their own: what a typical service sets. */
export const SERVICE_TIMEOUT_MS = 1_000;
/**
 * Keel tuned: packages/resilience/README.md's recipe for brief, independent errors — `timeout` set to what
 * the dependency should take (its p99 is ≈ 11 ms), 4 attempts with a 10 ms base delay.
 */
export const TUNED_TIMEOUT_MS = 100;
const TUNED_RETRY = { maxAttempts: 4, baseDelayMs: 10 };
/** Keel hedged: packages/resilience/README.md's `hedge` example — hedge after the observed p95, one hedge at most. */
export const HEDGED = { timeout: SERVICE_TIMEOUT_MS, hedge: { delay: { percentile: 0.95 } } };
/** Keel adaptive: packages/resilience/README.md's adaptive-concurrency example, verbatim. */
export const ADAPTIVE = {
  timeout: SERVICE_TIMEOUT_MS,
  bulkhead: {
    adaptive: { algorithm: 'gradient', minLimit: 2, maxLimit: 200, initialLimit: 20 },
    maxQueue: 10,
  },
};

export const CONFIGS = {
  none: {
    label: 'no policy (timeout only)',
    detail: `one attempt, ${SERVICE_TIMEOUT_MS} ms timeout`,
    async build(attempt) {
      return { call: () => attempt(AbortSignal.timeout(SERVICE_TIMEOUT_MS)), dispose() {} };
    },
  },
  naive: {
    label: 'naive retries',
    detail: `3 attempts at once, ${SERVICE_TIMEOUT_MS} ms timeout each; no backoff, budget or breaker`,
    async build(attempt) {
      return {
        async call() {
          for (let i = 1; ; i++) {
            try {
              return await attempt(AbortSignal.timeout(SERVICE_TIMEOUT_MS));
            } catch (error) {
              if (i === 3) throw error;
            }
          }
        },
        dispose() {},
      };
    },
  },
  cockatiel: {
    label: 'cockatiel `wrap(retry, circuitBreaker, timeout)`',
    detail: `3 attempts, exponential backoff; ConsecutiveBreaker(5), half-open after 10 s; ${SERVICE_TIMEOUT_MS} ms timeout`,
    async build(attempt) {
      const {
        circuitBreaker,
        ConsecutiveBreaker,
        ExponentialBackoff,
        handleAll,
        retry,
        TimeoutStrategy,
        timeout,
        wrap,
      } = await import('cockatiel');
      const policy = wrap(
        // cockatiel's maxAttempts counts retries: 2 retries = 3 attempts.
        retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
        circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
        timeout(SERVICE_TIMEOUT_MS, TimeoutStrategy.Aggressive),
      );
      return { call: () => policy.execute(({ signal }) => attempt(signal)), dispose() {} };
    },
  },
  opossum: {
    label: 'opossum defaults + retries',
    detail:
      'opossum defaults (timeout 10 s, opens at 50 % errors over 10 s, reset after 30 s) around each attempt; 3 attempts at once, none while the circuit is open',
    async build(attempt) {
      const { default: CircuitBreaker } = await import('opossum');
      // opossum's timeout rejects the call but does not abort the request (its `abortController` option is one
      // controller for every call, dead after the first timeout); no scenario here leaves a request hanging.
      const breaker = new CircuitBreaker(() => attempt(undefined));
      return {
        async call() {
          for (let i = 1; ; i++) {
            try {
              return await breaker.fire();
            } catch (error) {
              if (i === 3 || error?.code === 'EOPENBREAKER') throw error;
            }
          }
        },
        dispose: () => breaker.shutdown(),
      };
    },
  },
  'keel-default': {
    label: "Keel's default pipeline",
    detail:
      '`pipeline(name)`: total timeout 30 s, 3 attempts with full-jitter backoff and a retry budget, ratio breaker (50 % over 30 s, 20 attempts minimum, open 5 s), attempt timeout 10 s',
    async build(attempt, name) {
      const { pipeline } = await import('@keel/resilience');
      const p = pipeline(name);
      return { call: () => p.execute(({ signal }) => attempt(signal)), dispose: () => p.dispose() };
    },
  },
  'keel-tuned': {
    label: 'Keel tuned as its README recommends',
    detail: `\`pipeline(name, { timeout: ${TUNED_TIMEOUT_MS}, retry: { maxAttempts: 4, baseDelayMs: 10 } })\` (the README's recipe for brief, independent errors); budget and breaker at their defaults`,
    async build(attempt, name) {
      const { pipeline } = await import('@keel/resilience');
      const p = pipeline(name, { timeout: TUNED_TIMEOUT_MS, retry: TUNED_RETRY });
      return { call: () => p.execute(({ signal }) => attempt(signal)), dispose: () => p.dispose() };
    },
  },
  'keel-hedged': {
    label: 'Keel with hedging',
    detail: `\`pipeline(name, { timeout: ${SERVICE_TIMEOUT_MS}, hedge: { delay: { percentile: 0.95 } } })\` (packages/resilience/README.md's \`hedge\` example): one hedge after the p95 of the last 100 successful attempts (${SERVICE_TIMEOUT_MS / 2} ms until 20 are known), drawing on the retry's budget; the rest at the defaults`,
    async build(attempt, name) {
      const { pipeline } = await import('@keel/resilience');
      const p = pipeline(name, HEDGED);
      return { call: () => p.execute(({ signal }) => attempt(signal)), dispose: () => p.dispose() };
    },
  },
  'keel-adaptive': {
    label: 'Keel with adaptive concurrency',
    detail: `\`pipeline(name, { timeout: ${SERVICE_TIMEOUT_MS}, bulkhead: { adaptive: { algorithm: 'gradient', minLimit: 2, maxLimit: 200, initialLimit: 20 }, maxQueue: 10 } })\` (packages/resilience/README.md's example); the rest at the defaults`,
    async build(attempt, name) {
      const { pipeline } = await import('@keel/resilience');
      const p = pipeline(name, ADAPTIVE);
      return { call: () => p.execute(({ signal }) => attempt(signal)), dispose: () => p.dispose() };
    },
  },
};

/** The configurations every scenario runs unless it names its own. */
export const BASE_CONFIGS = ['none', 'naive', 'cockatiel', 'opossum', 'keel-default', 'keel-tuned'];

/** One `GET` to `origin` through an undici agent, resolved on 200 and rejected otherwise. */
export function httpAttempt(agent, origin) {
  return async (signal) => {
    const { statusCode, body } = await agent.request({ origin, path: '/work', method: 'GET', signal });
    await body.dump();
    if (statusCode !== 200) throw new Error(`status ${statusCode}`);
  };
}
