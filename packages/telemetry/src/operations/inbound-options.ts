import { checkBoolean, invalidOption } from '@keel/resilience/adapter';
import type { Telemetry } from '../start-telemetry.js';
import { checkTelemetry } from './check-telemetry.js';

/** The most paths `ignore` takes: it is a list of probe routes, not a routing table. */
const MAX_IGNORED = 64;
const MAX_PATH = 256;

/** The inbound options, checked and resolved once at construction. */
export interface ResolvedInboundOptions {
  readonly telemetry: Telemetry | undefined;
  readonly edge: boolean;
  readonly accessLog: boolean;
  readonly rejectExpiredDeadline: boolean;
  readonly recordQuery: boolean;
  /** Every untraced path, without trailing slash. */
  readonly ignored: ReadonlySet<string>;
}

/** Checks the values of the inbound options (the adapter has rejected unknown keys) in `owner`'s name. */
export function checkInboundOptions(
  owner: string,
  options: {
    telemetry?: unknown;
    edge?: unknown;
    accessLog?: unknown;
    rejectExpiredDeadline?: unknown;
    recordQuery?: unknown;
    ignore?: unknown;
  },
  defaults: readonly string[],
): ResolvedInboundOptions {
  const telemetry = checkTelemetry(owner, 'telemetry', options.telemetry);
  return {
    telemetry,
    edge: checkBoolean(owner, 'edge', options.edge, false),
    accessLog: checkBoolean(owner, 'accessLog', options.accessLog, true),
    rejectExpiredDeadline: checkBoolean(owner, 'rejectExpiredDeadline', options.rejectExpiredDeadline, true),
    recordQuery: checkBoolean(owner, 'recordQuery', options.recordQuery, false),
    ignored: new Set([...defaults, ...checkPaths(owner, options.ignore)].map(withoutTrailingSlash)),
  };
}

function checkPaths(owner: string, value: unknown): readonly string[] {
  if (value === undefined) return [];
  const expected = `an array of at most ${MAX_IGNORED} paths, each starting with / (no query string, at most ${MAX_PATH} characters)`;
  if (!Array.isArray(value) || value.length > MAX_IGNORED) invalidOption(owner, 'ignore', expected, value);
  value.forEach((path: unknown, i) => {
    if (
      typeof path !== 'string' ||
      !path.startsWith('/') ||
      path.length > MAX_PATH ||
      path.includes('?') ||
      path.includes('#')
    ) {
      invalidOption(
        owner,
        `ignore[${i}]`,
        'a path starting with / (no query string, at most 256 characters)',
        path,
      );
    }
  });
  return value as string[];
}

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
