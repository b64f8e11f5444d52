// Keel's default pipeline rebuilt with cockatiel, for the peer rows that do the same work as a Keel client:
// a 30 s total timeout, 3 attempts with exponential backoff (cockatiel's maxAttempts counts retries: 2
// retries = 3 attempts), a breaker opening at 50 % failures over 30 s, and optionally the 10 s attempt
// timeout inside it.

/** cockatiel's `wrap` of Keel's default policies; `attemptTimeoutMs` adds the innermost attempt timeout. */
export async function cockatielKeelDefaults({ attemptTimeoutMs } = {}) {
  const {
    circuitBreaker,
    ExponentialBackoff,
    handleAll,
    retry,
    SamplingBreaker,
    TimeoutStrategy,
    timeout,
    wrap,
  } = await import('cockatiel');
  const policies = [
    timeout(30_000, TimeoutStrategy.Aggressive),
    retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
    circuitBreaker(handleAll, {
      halfOpenAfter: 5_000,
      breaker: new SamplingBreaker({ threshold: 0.5, duration: 30_000 }),
    }),
  ];
  if (attemptTimeoutMs !== undefined) policies.push(timeout(attemptTimeoutMs, TimeoutStrategy.Aggressive));
  return wrap(...policies);
}
