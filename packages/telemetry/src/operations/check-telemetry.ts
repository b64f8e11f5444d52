import { invalidOption } from '@keel/resilience/adapter';
import type { Telemetry } from '../start-telemetry.js';

/**
 * Checks an optional `telemetry` option of an adapter. The check is by shape, not by class, so a handle
 * from a second installed copy of @keel/telemetry still passes.
 */
export function checkTelemetry(owner: string, option: string, value: unknown): Telemetry | undefined {
  if (value === undefined) return undefined;
  const handle = value as { propagator?: unknown; scrape?: unknown } | null;
  if (
    typeof value !== 'object' ||
    handle === null ||
    typeof handle.propagator !== 'object' ||
    typeof handle.scrape !== 'function'
  ) {
    invalidOption(owner, option, 'a Telemetry handle (from startTelemetry() or currentTelemetry())', value);
  }
  return value as Telemetry;
}
