// Checks of startTelemetry's options: unknown keys fail at once, and a second start with other options
// is refused rather than silently answered with the first handle.

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

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? 'an object' : String(value);
}

/** Throws a `TypeError` naming the option when `options` is not an object of known keys with a service name. */
export function checkTelemetryOptions(options: unknown): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(
      `startTelemetry: options must be an object with serviceName, received ${describe(options)}`,
    );
  }
  const known: readonly string[] = TELEMETRY_OPTION_KEYS;
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(
        `startTelemetry: unknown option ${key}; expected one of ${TELEMETRY_OPTION_KEYS.join(', ')}`,
      );
    }
  }
  const { serviceName, traceStore } = options as Record<string, unknown>;
  if (typeof serviceName !== 'string' || serviceName.length === 0) {
    throw new TypeError(
      `startTelemetry: option serviceName must be a non-empty string, received ${describe(serviceName)}`,
    );
  }
  if (traceStore !== undefined && typeof traceStore !== 'boolean') {
    throw new TypeError(
      `startTelemetry: option traceStore must be a boolean, received ${describe(traceStore)}`,
    );
  }
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
