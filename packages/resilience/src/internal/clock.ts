/** Monotonic milliseconds. Read through the global each time so fake timers in tests take effect. */
export function now(): number {
  return performance.now();
}
