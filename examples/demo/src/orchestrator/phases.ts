import type { Phase } from '../protocol.js';

/** The phases in order, what each does to payments, and its share of the run. */
export const PHASES: readonly { readonly name: Phase; readonly what: string; readonly share: number }[] = [
  { name: 'healthy', what: 'payments answers in 5–20 ms', share: 0.2 },
  {
    name: 'degraded',
    what: '30 % of charges fail (503), 6 % take 400–800 ms (orders waits 250 ms an attempt)',
    share: 0.3,
  },
  { name: 'outage', what: 'payments answers every call 503', share: 0.25 },
  { name: 'recovery', what: 'payments is healthy again', share: 0.25 },
];

/** When each phase starts, in ms from the start of the load, for a run of `durationS`. */
export function phaseStarts(durationS: number): number[] {
  let at = 0;
  return PHASES.map((phase) => {
    const start = at;
    at += phase.share * durationS * 1_000;
    return Math.round(start);
  });
}
