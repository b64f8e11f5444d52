import { checkKeys, optionalNumber } from './internal/validate.js';

/** Options of a retry budget: retries are paid for by the calls that succeed. */
export interface RetryBudgetOptions {
  /** Retries the budget can hold: the reserve a quiet or failing dependency may still draw on. @default 10 */
  maxTokens?: number;
  /** Tokens each successful call earns; a retry costs one. @default 0.5 */
  tokenRatio?: number;
}

/**
 * Caps the extra load retries can add to a dependency. Each retry costs a token; each call that succeeds
 * earns `tokenRatio` of one, up to `maxTokens`. While a dependency keeps answering, retries are funded
 * by its successes: with the defaults, retries may add up to half the successful calls, so a dependency
 * failing 30 % of the time (about 0.4 retries a call at 3 attempts) has every retry it needs, at any
 * rate. In an outage nothing succeeds: after the `maxTokens` in reserve are spent, retries stop, and the
 * load stays the calls made. Share one budget between pipelines that call the same destination.
 */
export interface RetryBudget {
  readonly maxTokens: number;
  readonly tokenRatio: number;
  /** Tokens left, within [0, maxTokens]: how many retries the budget allows now, rounded down. */
  readonly tokens: number;
  /** Whether a retry may be made now (at least one token left). */
  canRetry(): boolean;
  /** Spends a token on a retry about to be made. */
  onRetry(): void;
  /** Records a call that succeeded. */
  onSuccess(): void;
}

const KNOWN = ['maxTokens', 'tokenRatio'] as const;

/** Creates a retry budget. */
export function retryBudget(options: RetryBudgetOptions = {}, owner = 'retryBudget', p = ''): RetryBudget {
  checkKeys(owner, p, options as Record<string, unknown>, KNOWN);
  const maxTokens = optionalNumber(owner, `${p}maxTokens`, options.maxTokens, 20, 1, 1_000_000);
  const tokenRatio = optionalNumber(owner, `${p}tokenRatio`, options.tokenRatio, 0.5, 0.001, 10, false);
  let tokens = maxTokens;
  return {
    maxTokens,
    tokenRatio,
    get tokens() {
      return tokens;
    },
    canRetry: () => tokens >= 1,
    onRetry() {
      tokens = Math.max(0, tokens - 1);
    },
    onSuccess() {
      if (tokens < maxTokens) tokens = Math.min(maxTokens, tokens + tokenRatio);
    },
  };
}
