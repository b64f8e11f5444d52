import {
  type CircuitBreakerOptions,
  type Pipeline,
  type PipelineOptions,
  pipeline,
  type RetryOptions,
} from '@keel/resilience';
import {
  checkNumber,
  checkOptions,
  invalidOption,
  isPlainObject,
  optionConflict,
  PIPELINE_OPTION_KEYS,
} from '@keel/resilience/adapter';
import type { Telemetry } from '@keel/telemetry';
import { checkTelemetry } from '@keel/telemetry/adapter';
import { DEFAULT_MAX_PUSHBACK_MS, grpcFailureOn, grpcRetryAfter, grpcRetryOn } from './classify.js';

/** Options of {@link keelClientInterceptor}. The resilience options are `@keel/resilience`'s pipeline options. */
export interface KeelClientInterceptorOptions extends PipelineOptions {
  /** Names the pipeline, its metrics and events: the destination (`orders`). Defaults to `pipeline.name`. */
  name?: string;
  /** The host called, for `server.address` and the egress allow-list of `startTelemetry`. @default name */
  host?: string;
  /**
   * Methods that are safe to send again (`package.Service/Method`, or `package.Service/*` for a whole
   * service), or `true` for every method. Others are sent once, whatever `retry` says. @default false
   */
  idempotent?: boolean | readonly string[];
  /** A `grpc-retry-pushback-ms` longer than this is not waited for: the call ends with the status. @default 30000 */
  maxPushbackMs?: number;
  /** A pipeline of your own instead of the options above (you own its classification then). */
  pipeline?: Pipeline;
  /** The telemetry to report to. @default currentTelemetry(), looked up per call */
  telemetry?: Telemetry;
}

/** The options of a client interceptor, resolved once. */
export interface ResolvedClient {
  readonly name: string;
  readonly host: string;
  readonly pipeline: Pipeline;
  readonly ownsPipeline: boolean;
  readonly idempotent: (fullMethod: string) => boolean;
  readonly telemetry: Telemetry | undefined;
}

const KNOWN = [
  'name',
  'host',
  'idempotent',
  'maxPushbackMs',
  'pipeline',
  'telemetry',
  ...PIPELINE_OPTION_KEYS,
] as const;
const METHOD = /^[A-Za-z0-9_.$-]{1,256}\/([A-Za-z0-9_$-]{1,128}|\*)$/;

function resolveIdempotent(owner: string, value: unknown): (fullMethod: string) => boolean {
  if (value === undefined || value === false) return () => false;
  if (value === true) return () => true;
  const expected = 'true, false or an array of "package.Service/Method" or "package.Service/*" names';
  if (!Array.isArray(value)) invalidOption(owner, 'idempotent', expected, value);
  const methods = new Set<string>();
  const services = new Set<string>();
  value.forEach((entry: unknown, i) => {
    if (typeof entry !== 'string' || !METHOD.test(entry))
      invalidOption(owner, `idempotent[${i}]`, expected, entry);
    if (entry.endsWith('/*')) services.add(entry.slice(0, -2));
    else methods.add(entry);
  });
  return (fullMethod) =>
    methods.has(fullMethod) || services.has(fullMethod.slice(0, fullMethod.lastIndexOf('/')));
}

/** The standard pipeline with the gRPC classification wherever the user gave none of their own. */
function buildPipeline(name: string, options: KeelClientInterceptorOptions, maxPushbackMs: number): Pipeline {
  const given: PipelineOptions = {};
  for (const key of PIPELINE_OPTION_KEYS) {
    const value = options[key];
    if (value !== undefined) (given as Record<string, unknown>)[key] = value;
  }
  if (given.retry === undefined || isPlainObject(given.retry)) {
    const retry = (given.retry ?? {}) as RetryOptions;
    given.retry = {
      ...retry,
      retryOn: retry.retryOn ?? ((outcome) => grpcRetryOn(outcome, maxPushbackMs)),
      retryAfter: retry.retryAfter ?? grpcRetryAfter,
    };
  }
  if (given.circuitBreaker === undefined || isPlainObject(given.circuitBreaker)) {
    const breaker = (given.circuitBreaker ?? {}) as CircuitBreakerOptions;
    given.circuitBreaker = { ...breaker, failureOn: breaker.failureOn ?? grpcFailureOn };
  }
  return pipeline(name, given);
}

function isPipeline(value: unknown): value is Pipeline {
  return isPlainObject(value) && typeof value.execute === 'function' && typeof value.name === 'string';
}

/** Validates the options of `keelClientInterceptor`; throws TypeError/RangeError naming the option. */
export function resolveClientOptions(options: KeelClientInterceptorOptions): ResolvedClient {
  const given = checkOptions('keelClientInterceptor', options, KNOWN) as KeelClientInterceptorOptions;
  if (options === undefined) invalidOption('keelClientInterceptor', 'options', 'an options object', options);
  const userPipeline = given.pipeline;
  if (userPipeline !== undefined && !isPipeline(userPipeline)) {
    invalidOption('keelClientInterceptor', 'pipeline', 'a Pipeline from @keel/resilience', userPipeline);
  }
  const name = given.name ?? userPipeline?.name;
  if (typeof name !== 'string' || name.length === 0) {
    invalidOption(
      'keelClientInterceptor',
      'name',
      'a non-empty string (the destination, e.g. "orders")',
      name,
    );
  }
  const owner = `keelClientInterceptor "${name}"`;
  if (userPipeline !== undefined) {
    const mixed = PIPELINE_OPTION_KEYS.find((key) => given[key] !== undefined);
    if (mixed !== undefined) {
      optionConflict(owner, 'pipeline', mixed, 'configure the pipeline instead');
    }
  }
  const host = given.host ?? name;
  if (typeof host !== 'string' || host.length === 0 || host.length > 253) {
    invalidOption(owner, 'host', 'a host name of 1 to 253 characters', host);
  }
  const maxPushbackMs =
    given.maxPushbackMs === undefined
      ? DEFAULT_MAX_PUSHBACK_MS
      : checkNumber(owner, 'maxPushbackMs', given.maxPushbackMs, 0, 3_600_000);
  return {
    name,
    host,
    pipeline: userPipeline ?? buildPipeline(name, given, maxPushbackMs),
    ownsPipeline: userPipeline === undefined,
    idempotent: resolveIdempotent(owner, given.idempotent),
    telemetry: checkTelemetry(owner, 'telemetry', given.telemetry),
  };
}
