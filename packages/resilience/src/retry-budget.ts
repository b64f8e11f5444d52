import { optionalNumber } from './internal/validate.js';

/** Options of a retry budget: a token bucket in the manner of gRPC retry throttling (A6). */
export interface RetryBudgetOptions {
  /** Bucket size; retries are allowed only while more than half of it is left. @default 10 */
  maxTokens?: number;
  /** Tokens refunded by each successful attempt (each failed attempt costs one). @default 0.1 */
  tokenRatio?: number;
}

/**
 * Caps the extra load retries can add to a dependency. Each failed attempt costs a token, each success
 * refunds `tokenRatio`; a retry is allowed only while the bucket is more than half full. In an outage
 * the bucket drains after a few failures and retries stop, so they add about `tokenRatio` of the
 * successful traffic instead of multiplying the load. Share one budget between pipelines that call the
 * same destination.
 */
export interface RetryBudget {
  readonly maxTokens: number;
  readonly tokenRatio: number;
  /** Tokens left, within [0, maxTokens]. */
  readonly tokens: number;
  /** Whether a retry may be made now. */
  canRetry(): boolean;
  /** Records a successful attempt. */
  onSuccess(): void;
  /** Records a failed attempt. */
  onFailure(): void;
}

/** Creates a retry budget. */
export function retryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const owner = 'retryBudget';
  const maxTokens = optionalNumber(owner, 'maxTokens', options.maxTokens, 10, 2, 1_000_000);
  const tokenRatio = optionalNumber(owner, 'tokenRatio', options.tokenRatio, 0.1, 0.001, 1, false);
  const threshold = maxTokens / 2;
  let tokens = maxTokens;
  return {
    maxTokens,
    tokenRatio,
    get tokens() {
      return tokens;
    },
    canRetry: () => tokens > threshold,
    onSuccess() {
      if (tokens < maxTokens) tokens = Math.min(maxTokens, tokens + tokenRatio);
    },
    onFailure() {
      if (tokens > 0) tokens = Math.max(0, tokens - 1);
    },
  };
}
