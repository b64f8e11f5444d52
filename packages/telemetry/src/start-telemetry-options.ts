// Checks of startTelemetry's options: unknown keys fail at once, and a second start with other options
// is refused rather than silently answered with the first handle.
import {
  checkBoolean,
  checkKeys,
  checkNonEmptyString,
  invalidOption,
  isPlainObject,
} from '@keel/resilience/adapter';

const OWNER = 'startTelemetry';

/** Every option `startTelemetry` knows, in the order its docs list them. */
export const TELEMETRY_OPTION_KEYS = [
  'serviceName',
  'serviceVersion',
  'otlpEndpoint',
  'traceStore',
  'spanProcessors',
  'logger',
  'logLevel',
  'processMetrics',
  'seriesLimit',
  'correlationHeader',
  'propagateTo',
  'observePipelines',
  'shutdownTimeoutMs',
] as const;

/** Throws a `TypeError` naming the option when `options` is not an object of known keys with a service name. */
export function checkTelemetryOptions(options: unknown): void {
  if (!isPlainObject(options)) invalidOption(OWNER, 'options', 'an object with serviceName', options);
  checkKeys(OWNER, '', options, TELEMETRY_OPTION_KEYS);
  checkNonEmptyString(OWNER, 'serviceName', options.serviceName);
  checkBoolean(OWNER, 'traceStore', options.traceStore, undefined);
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  // Lists are compared by their members, so `propagateTo: ['a']` written twice is the same option.
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  return a.every((member, i) => Object.is(member, b[i]));
}

/** The options whose values differ between two starts (absent and `undefined` are the same). */
export function differingOptions(first: object, second: object): string[] {
  const a = first as Record<string, unknown>;
  const b = second as Record<string, unknown>;
  return TELEMETRY_OPTION_KEYS.filter((key) => !sameValue(a[key], b[key]));
}

/** Throws when telemetry already runs with options other than `second`. */
export function assertSameStart(first: object, second: object): void {
  const differing = differingOptions(first, second);
  if (differing.length === 0) return;
  throw new Error(
    `startTelemetry: telemetry is already started with other options (${differing.join(', ')} differ); ` +
      'start it once per process, or shut the first handle down before starting again',
  );
}
