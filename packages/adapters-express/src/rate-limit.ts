import { createHash } from 'node:crypto';
import { RateLimitedError, type RateLimitPolicy, rateLimit as tokenBucket } from '@keel/resilience';
import { checkFunction, checkOptions, optionalNumber } from '@keel/resilience/adapter';
import { answerHttpError } from '@keel/telemetry/adapter';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** Requests admitted per `intervalMs`, per key. */
  limit: number;
  /** The refill interval, in ms. @default 1000 */
  intervalMs?: number;
  /** Requests a quiet key may send at once. @default limit */
  burst?: number;
  /** The key to limit by; requests whose key is undefined share one bucket. @default req.ip */
  key?: (req: Request) => string | undefined;
  /** Keys remembered at once; the least recently seen key's bucket is forgotten beyond it. @default 10000 */
  maxKeys?: number;
}

const KNOWN = ['limit', 'intervalMs', 'burst', 'key', 'maxKeys'] as const;
// Longer keys are hashed, so the memory a key costs is bounded whatever the key function returns.
const MAX_KEY_LENGTH = 128;

/**
 * Inbound rate limiting per key (an API gateway's per-client limit) with `@keel/resilience`'s token bucket:
 * over the limit a request is answered 429 with `Retry-After` and never reaches the handler. Memory is
 * bounded by `maxKeys`: an LRU of buckets.
 *
 * @example
 * app.use(rateLimit({ limit: 100, intervalMs: 60_000, key: (req) => req.get('x-api-key') }));
 */
export function rateLimit(options: RateLimitOptions): RequestHandler {
  const owner = 'rateLimit';
  const opts = checkOptions<RateLimitOptions>(owner, options, KNOWN);
  const bucket = {
    limit: opts.limit,
    ...(opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs }),
    ...(opts.burst === undefined ? {} : { burst: opts.burst }),
  };
  tokenBucket(bucket); // validates limit, intervalMs and burst the way the resilience policy does
  const key = checkFunction<(req: Request) => string | undefined>(owner, 'key', opts.key) ?? defaultKey;
  const maxKeys = optionalNumber(owner, 'maxKeys', opts.maxKeys, 10_000, 1, 10_000_000);
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const buckets = new Map<string, RateLimitPolicy>();

  return function rateLimit(req: Request, res: Response, next: NextFunction): void {
    const id = normalizeKey(key(req));
    let limiter = buckets.get(id);
    if (limiter === undefined) {
      limiter = tokenBucket(bucket);
      if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value as string);
    } else {
      buckets.delete(id);
    }
    buckets.set(id, limiter);
    const waitMs = limiter.tryAcquire();
    if (waitMs === 0) {
      next();
      return;
    }
    answerHttpError(res, new RateLimitedError(waitMs));
  };
}

function defaultKey(req: Request): string | undefined {
  return req.ip;
}

function normalizeKey(value: unknown): string {
  if (typeof value !== 'string') return '';
  return value.length <= MAX_KEY_LENGTH
    ? value
    : `#${createHash('sha256').update(value).digest('base64url')}`;
}
