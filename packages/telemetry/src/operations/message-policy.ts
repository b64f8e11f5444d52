import { checkFunction, checkKeys, checkObject, MAX_MS, optionalNumber } from '@keel/resilience/adapter';

/** Retries of a failed message: each goes back to the broker with a delay, never held in the process. */
export interface MessageRetryOptions {
  /** Deliveries of one message, the first included; `1` dead-letters on the first failure. @default 5 */
  maxAttempts?: number;
  /** Delay before the second delivery; it doubles for each further one. @default 1000 */
  baseDelayMs?: number;
  /** The longest delay between deliveries. @default 60000 */
  maxDelayMs?: number;
}

/** How a consumer treats the handler of one message. */
export interface MessageHandlingOptions {
  /** Time the handler has, in ms; past it the handler's `signal` aborts and the delivery counts as failed. @default 30000 */
  timeout?: number;
  /** @default {} (5 deliveries, 1 s doubling to at most 60 s) */
  retry?: MessageRetryOptions;
  /**
   * Whether a failure may succeed on a later delivery; `false` dead-letters the message at once.
   * {@link MalformedMessageError} is never retried. @default every other failure is retried
   */
  retryOn?: (error: unknown) => boolean;
}

/** {@link MessageHandlingOptions}, validated and with the defaults filled in. */
export interface MessagePolicy {
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly retryOn: (error: unknown) => boolean;
}

const retryAll = (): boolean => true;

/**
 * Validates the handling options of a consumer once, at construction: a bad option throws a TypeError or
 * RangeError naming `owner`, the option, what it must be and the value received.
 */
export function messagePolicy(owner: string, options: MessageHandlingOptions = {}): MessagePolicy {
  const { timeout, retry = {}, retryOn } = options;
  const r = checkObject(owner, 'retry', retry, 'an options object');
  checkKeys(owner, 'retry.', r, ['maxAttempts', 'baseDelayMs', 'maxDelayMs']);
  const baseDelayMs = optionalNumber(owner, 'retry.baseDelayMs', r.baseDelayMs, 1_000, 1, MAX_MS);
  checkFunction(owner, 'retryOn', retryOn);
  return {
    timeoutMs: optionalNumber(owner, 'timeout', timeout, 30_000, 1, MAX_MS),
    maxAttempts: optionalNumber(owner, 'retry.maxAttempts', r.maxAttempts, 5, 1, 100),
    baseDelayMs,
    maxDelayMs: optionalNumber(
      owner,
      'retry.maxDelayMs',
      r.maxDelayMs,
      Math.max(60_000, baseDelayMs),
      baseDelayMs,
      MAX_MS,
    ),
    retryOn: retryOn ?? retryAll,
  };
}

/** The delay before delivery `failedAttempt + 1`: `baseDelayMs` doubling per attempt, at most `maxDelayMs`. */
export function retryDelayMs(policy: MessagePolicy, failedAttempt: number): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failedAttempt - 1));
}

const kMalformed = Symbol.for('keel.malformed-message');

/**
 * A message that can never be processed (its body does not decode, or fails validation): it is
 * dead-lettered at once instead of being retried. Throw it from a handler, or a decoder does.
 */
export class MalformedMessageError extends Error {
  override readonly name = 'MalformedMessageError';
  readonly code = 'KEEL_MALFORMED_MESSAGE';
  readonly [kMalformed] = true;
}

/** Whether `error` is a {@link MalformedMessageError}, from any installed copy of Keel. */
export function isMalformedMessageError(error: unknown): error is MalformedMessageError {
  return (
    typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[kMalformed] === true
  );
}
