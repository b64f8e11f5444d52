import {
  type BulkheadOptions,
  type ChaosOptions,
  type CircuitBreakerOptions,
  type HedgeOptions,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  type RateLimitOptions,
  type RetryOptions,
} from '@keel/resilience';
import {
  checkBoolean,
  checkKeys,
  checkNumber,
  invalidOption,
  isPlainObject,
  optionConflict,
  PIPELINE_OPTION_KEYS,
} from '@keel/resilience/adapter';
import type { Telemetry } from '@keel/telemetry';
import { checkTelemetry } from '@keel/telemetry/adapter';
import type { Dispatcher } from 'undici';
import { asResponseOutcome, clientRetryOn, httpFailureOn, httpRetryAfter, isReplayable } from './classify.js';
import { type HeaderRecord, type HeadersInit, mergeHeaders } from './internal/headers.js';
import type { HttpResponse } from './response.js';

/** What answers a failed call instead of the error: a response, or a function of the error making one. */
export type HttpFallback = HttpResponse | ((error: unknown) => HttpResponse | Promise<HttpResponse>);

/** Options of {@link httpClient}. The resilience options are `@keel/resilience`'s pipeline options. */
export interface HttpClientOptions {
  /** Names the pipeline, its metrics and events: the destination (`payments`). Defaults to `pipeline.name`. */
  name?: string;
  /** `http(s)://host[:port][/prefix]`; calls then take paths. Without it, calls take absolute URLs. */
  baseUrl?: string | URL;
  /** Headers sent with every call (a call's own headers win). @default {} */
  headers?: HeadersInit;
  /** Per-attempt timeout in ms, or `false`. @default 10000 */
  timeout?: number | false;
  /** Timeout of the whole call, retries and backoff included, in ms, or `false`. @default 30000 */
  totalTimeout?: number | false;
  /** Retry options; `retryOn`/`retryAfter` replace the HTTP classification (idempotency still gates). @default {} (3 attempts) */
  retry?: RetryOptions | false;
  /** Breaker options; `failureOn` replaces the HTTP classification. @default {} (10 % over 30 s, ≥ 100 calls) */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** @default false */
  bulkhead?: BulkheadOptions | false;
  /** @default false */
  rateLimit?: RateLimitOptions | false;
  /** Answers a failed call (not a cancelled one) instead of the error. @default none */
  fallback?: HttpFallback;
  /** Hedging: another attempt in parallel after a delay, for replayable calls only. @default false */
  hedge?: HedgeOptions | false;
  /** Fault injection for tests and game days (see `chaos` in @keel/resilience). @default false */
  chaos?: ChaosOptions | false;
  /** A pipeline of your own instead of the options above (you own its classification then). */
  pipeline?: Pipeline;
  /** Throw an `HttpStatusError` for a final non-2xx response instead of returning it. @default false */
  throwOnError?: boolean;
  /** A `Retry-After` longer than this (ms) is not waited for; the response is returned. @default 30000 */
  maxRetryAfterMs?: number;
  /** Connections per origin in the client's own pool. @default unlimited (undici's default) */
  connections?: number;
  /** An undici dispatcher of yours instead of the client's own `Agent`; `close()` leaves it open. */
  dispatcher?: Dispatcher;
  /** The telemetry to report to. @default currentTelemetry(), looked up per call */
  telemetry?: Telemetry;
}

/** Options resolved once at construction. */
export interface ResolvedClientOptions {
  readonly name: string;
  readonly owner: string;
  readonly origin: string | undefined;
  /** The parts of `baseUrl`'s origin a client span reads, parsed once. */
  readonly originParts: OriginParts | undefined;
  readonly prefix: string;
  readonly headers: HeaderRecord;
  readonly pipeline: Pipeline;
  readonly ownsPipeline: boolean;
  /**
   * Whether the pipeline's classifiers read the call's policy from the context (a pipeline of the user's,
   * or a `retryOn` of the user's that may call `httpRetryOn`); otherwise calls pass `idempotent` to `execute`.
   */
  readonly policyInContext: boolean;
  readonly throwOnError: boolean;
  readonly maxRetryAfterMs: number;
  readonly connections: number | undefined;
  readonly dispatcher: Dispatcher | undefined;
  readonly telemetry: Telemetry | undefined;
}

// The pipeline options a client accepts in place of `pipeline` (one list, owned by @keel/resilience).
const RESILIENCE: readonly string[] = PIPELINE_OPTION_KEYS;
const KNOWN = new Set([
  'name',
  'baseUrl',
  'headers',
  ...RESILIENCE,
  'pipeline',
  'throwOnError',
  'maxRetryAfterMs',
  'connections',
  'dispatcher',
  'telemetry',
]);

/** What a client span needs of an origin, read once from the parsed `baseUrl`. */
export interface OriginParts {
  readonly origin: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly port: string;
}

/** Parses `baseUrl` into an origin and a path prefix without a trailing slash. */
function parseBaseUrl(owner: string, value: unknown): OriginParts & { prefix: string } {
  const expected = 'an http: or https: URL without query, fragment or credentials';
  let url: URL | undefined;
  if (value instanceof URL) url = value;
  else if (typeof value === 'string' && URL.canParse(value)) url = new URL(value);
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    return invalidOption(owner, 'baseUrl', expected, value instanceof URL ? value.href : value);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return invalidOption(owner, 'baseUrl', expected, url.href);
  }
  const { origin, protocol, hostname, port } = url;
  return { origin, protocol, hostname, port, prefix: url.pathname.replace(/\/+$/, '') };
}

function isPipeline(value: unknown): value is Pipeline {
  return isPlainObject(value) && typeof value.execute === 'function' && typeof value.name === 'string';
}

/** The standard pipeline from the client's options, with the HTTP classification unless the user gave one. */
function buildPipeline(name: string, options: HttpClientOptions, maxRetryAfterMs: number): Pipeline {
  const given: PipelineOptions = {};
  for (const key of RESILIENCE) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) (given as Record<string, unknown>)[key] = value;
  }
  // Anything but an object (or false) is left for the pipeline to reject with its own message.
  if (given.retry === undefined || isPlainObject(given.retry)) {
    const retry = (given.retry ?? {}) as RetryOptions;
    const userRetryOn = retry.retryOn;
    const userRetryAfter = retry.retryAfter;
    given.retry = {
      ...retry,
      // Idempotency gates every classification, the user's too: a non-replayable call is sent once. A user's
      // classifier sees a failed response as the response it is (see asResponseOutcome).
      retryOn:
        typeof userRetryOn === 'function'
          ? (outcome) => isReplayable() && userRetryOn(asResponseOutcome(outcome))
          : clientRetryOn(maxRetryAfterMs),
      retryAfter:
        typeof userRetryAfter === 'function'
          ? (outcome) => userRetryAfter(asResponseOutcome(outcome))
          : (userRetryAfter ?? httpRetryAfter),
    };
  }
  if (given.circuitBreaker === undefined || isPlainObject(given.circuitBreaker)) {
    const breaker = (given.circuitBreaker ?? {}) as CircuitBreakerOptions;
    const userFailureOn = breaker.failureOn;
    given.circuitBreaker = {
      ...breaker,
      failureOn:
        typeof userFailureOn === 'function'
          ? (outcome) => userFailureOn(asResponseOutcome(outcome))
          : (userFailureOn ?? httpFailureOn),
    };
  }
  return pipeline(name, given);
}

/** Validates the options of `httpClient` and builds its pipeline; throws TypeError/RangeError naming the option. */
export function resolveClientOptions(options: HttpClientOptions): ResolvedClientOptions {
  if (!isPlainObject(options as unknown))
    invalidOption('httpClient', 'options', 'an options object', options);
  const userPipeline = options.pipeline;
  if (userPipeline !== undefined && !isPipeline(userPipeline)) {
    invalidOption('httpClient', 'pipeline', 'a Pipeline from @keel/resilience', userPipeline);
  }
  const name = options.name ?? userPipeline?.name;
  if (typeof name !== 'string' || name.length === 0) {
    invalidOption('httpClient', 'name', 'a non-empty string (the destination, e.g. "payments")', name);
  }
  const owner = `httpClient "${name}"`;
  checkKeys(owner, '', options, KNOWN);
  if (userPipeline !== undefined) {
    const mixed = RESILIENCE.find((key) => (options as Record<string, unknown>)[key] !== undefined);
    if (mixed !== undefined) {
      optionConflict(owner, 'pipeline', mixed, 'configure the pipeline instead');
    }
  }
  const base = options.baseUrl === undefined ? undefined : parseBaseUrl(owner, options.baseUrl);
  const headers = mergeHeaders(owner, 'headers', {}, options.headers);
  const throwOnError = checkBoolean(owner, 'throwOnError', options.throwOnError, false);
  const maxRetryAfterMs =
    options.maxRetryAfterMs === undefined
      ? 30_000
      : checkNumber(owner, 'maxRetryAfterMs', options.maxRetryAfterMs, 0, 3_600_000);
  const connections =
    options.connections === undefined
      ? undefined
      : checkNumber(owner, 'connections', options.connections, 1, 65_536);
  const dispatcher = options.dispatcher;
  if (
    dispatcher !== undefined &&
    typeof (dispatcher as unknown as Dispatcher | null)?.request !== 'function'
  ) {
    invalidOption(owner, 'dispatcher', 'an undici Dispatcher', dispatcher);
  }
  if (dispatcher !== undefined && connections !== undefined) {
    optionConflict(owner, 'connections', 'dispatcher', 'size your dispatcher');
  }
  const telemetry = checkTelemetry(owner, 'telemetry', options.telemetry);
  if (
    options.fallback !== undefined &&
    typeof options.fallback !== 'function' &&
    !isPlainObject(options.fallback)
  ) {
    invalidOption(owner, 'fallback', 'a response or a function of the error', options.fallback);
  }
  return {
    name,
    owner,
    origin: base?.origin,
    originParts:
      base === undefined
        ? undefined
        : { origin: base.origin, protocol: base.protocol, hostname: base.hostname, port: base.port },
    prefix: base?.prefix ?? '',
    headers,
    pipeline: userPipeline ?? buildPipeline(name, options, maxRetryAfterMs),
    ownsPipeline: userPipeline === undefined,
    policyInContext:
      userPipeline !== undefined ||
      (isPlainObject(options.retry) && typeof options.retry.retryOn === 'function'),
    throwOnError,
    maxRetryAfterMs,
    connections,
    dispatcher,
    telemetry,
  };
}
