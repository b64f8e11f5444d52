import type { Deadline } from '@grpc/grpc-js';

// grpc-js counts deadlines in wall-clock milliseconds (a Date or a number, Infinity for none); Keel holds
// them as instants on the monotonic `performance.now()` clock. These only translate between the two.

/** A grpc-js deadline as a `performance.now()` instant; undefined for none. */
export function instantOf(deadline: Deadline | undefined): number | undefined {
  if (deadline === undefined) return undefined;
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  if (!Number.isFinite(ms)) return undefined;
  return performance.now() + (ms - Date.now());
}

/** A `performance.now()` instant as a grpc-js deadline (wall-clock milliseconds). */
export function deadlineOf(instant: number): number {
  return Date.now() + (instant - performance.now());
}
