import { describe, expect, it } from 'vitest';
import { callsDue, receivedIn, recoveryMs, successByBin, summarise } from './open-loop.js';

/** Calls due every 10 ms for `ms`, succeeding where `okAt(dueMs)` says so, each taking 5 ms. */
function records(ms, okAt) {
  const n = callsDue(100, ms);
  const due = Array.from({ length: n }, (_, i) => i * 10);
  return { due, latency: due.map(() => 5), ok: due.map((t) => (okAt(t) ? 1 : 0)) };
}

describe('open-loop arithmetic', () => {
  it('sends rate × duration calls, whatever is in flight', () => {
    expect(callsDue(100, 3_000)).toBe(300);
    expect(callsDue(300, 1_500)).toBe(450);
  });

  it('reports goodput and success share over a window', () => {
    const r = records(2_000, (t) => t < 1_000);
    const s = summarise(r, 0, 2_000);
    expect(s.sent).toBe(200);
    expect(s.good).toBe(100);
    expect(s.goodput).toBe(50);
    expect(s.success).toBe(0.5);
  });

  it('bins success by the instant each call was due', () => {
    const r = records(1_000, (t) => t >= 500);
    expect(successByBin(r, 0, 1_000, 250)).toEqual([0, 0, 1, 1]);
  });

  it('measures recovery from the heal to the first bin from which service stays normal', () => {
    // Healed at 1 s; one good bin at 1.25 s, a bad one at 1.5 s, normal from 1.75 s on.
    const r = records(3_000, (t) => (t >= 1_250 && t < 1_500) || t >= 1_750);
    expect(recoveryMs(r, 1_000, 3_000, 250)).toBe(750);
  });

  it('reports no recovery when service is not normal by the end of the run', () => {
    const r = records(2_000, () => false);
    expect(recoveryMs(r, 1_000, 2_000, 250)).toBeUndefined();
  });

  it('counts the calls received in a window from per-bin counts', () => {
    expect(receivedIn([1, 2, 3, 4, 5], 100, 100, 400)).toBe(9);
  });
});
