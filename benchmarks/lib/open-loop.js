// Open-loop load and what effectiveness.js computes from it. An open-loop client sends at a fixed rate
// whatever the calls in flight, so a slow or failing dependency cannot lower the load it receives, and a
// call's latency runs from the instant it was due, not from when a busy client got round to it.

import { quantile } from './harness.js';

/** How many calls an open-loop client at `rate` per second sends in `durationMs`; call i is due at i × 1000 / rate ms. */
export const callsDue = (rate, durationMs) => Math.floor((rate * durationMs) / 1000);

/**
 * Sends `send()` at `rate` per second for `durationMs`, starting at `epoch` (a `Date.now()` instant), and
 * waits up to `drainMs` after the last call for the stragglers. Resolves with, per call, the instant it
 * was due (ms since `epoch`), its latency from that instant (ms; NaN if it had not settled) and whether it
 * succeeded.
 */
export function openLoop({ rate, durationMs, epoch, send, drainMs }) {
  const n = callsDue(rate, durationMs);
  const due = new Float64Array(n);
  const latency = new Float64Array(n).fill(Number.NaN);
  const ok = new Uint8Array(n);
  for (let i = 0; i < n; i++) due[i] = (i * 1000) / rate;
  const origin = performance.now() + (epoch - Date.now());
  let next = 0;
  let settled = 0;
  return new Promise((resolve) => {
    let drainTimer;
    const finish = () => {
      clearTimeout(drainTimer);
      resolve({ due, latency, ok });
    };
    const fire = (i) => {
      send()
        .then(
          () => {
            ok[i] = 1;
            latency[i] = performance.now() - origin - due[i];
          },
          () => {
            latency[i] = performance.now() - origin - due[i];
          },
        )
        .finally(() => {
          settled++;
          if (settled === n && next === n) finish();
        });
    };
    const tick = () => {
      const now = performance.now() - origin;
      while (next < n && due[next] <= now) fire(next++);
      if (next < n) setTimeout(tick, Math.min(5, Math.max(0, due[next] - now)));
      else drainTimer = setTimeout(finish, drainMs);
    };
    setTimeout(tick, Math.max(0, origin - performance.now()));
  });
}

/** Success fraction of the calls due in each `binMs` bin of [fromMs, toMs). */
export function successByBin({ due, ok }, fromMs, toMs, binMs) {
  const bins = Math.ceil((toMs - fromMs) / binMs);
  const sent = new Array(bins).fill(0);
  const good = new Array(bins).fill(0);
  for (let i = 0; i < due.length; i++) {
    if (due[i] < fromMs || due[i] >= toMs) continue;
    const b = Math.floor((due[i] - fromMs) / binMs);
    sent[b]++;
    good[b] += ok[i];
  }
  return sent.map((s, b) => (s === 0 ? 1 : good[b] / s));
}

/**
 * How long after `healMs` the client served normally again: the start of the first `binMs` bin from
 * which every bin up to `endMs` has at least `threshold` of its calls succeed (calls binned by the
 * instant they were due). Undefined if that never happened before `endMs`.
 */
export function recoveryMs(records, healMs, endMs, binMs, threshold = 0.95) {
  const rates = successByBin(records, healMs, endMs, binMs);
  let from = rates.length;
  while (from > 0 && rates[from - 1] >= threshold) from--;
  return from === rates.length ? undefined : from * binMs;
}

/** Goodput, success share and latency quantiles (of every call, failed or not) of the calls due in [fromMs, toMs). */
export function summarise({ due, latency, ok }, fromMs, toMs) {
  const lat = [];
  let sent = 0;
  let good = 0;
  let unsettled = 0;
  for (let i = 0; i < due.length; i++) {
    if (due[i] < fromMs || due[i] >= toMs) continue;
    sent++;
    good += ok[i];
    if (Number.isNaN(latency[i])) unsettled++;
    else lat.push(latency[i]);
  }
  return {
    sent,
    good,
    unsettled,
    goodput: good / ((toMs - fromMs) / 1000),
    success: sent === 0 ? Number.NaN : good / sent,
    p50: lat.length === 0 ? Number.NaN : quantile(lat, 0.5),
    p99: lat.length === 0 ? Number.NaN : quantile(lat, 0.99),
    p999: lat.length === 0 ? Number.NaN : quantile(lat, 0.999),
  };
}

/** Calls received in [fromMs, toMs) from per-bin counts (`counts[b]` covers [b × binMs, (b + 1) × binMs)). */
export function receivedIn(counts, binMs, fromMs, toMs) {
  let sum = 0;
  for (let b = Math.floor(fromMs / binMs); b < Math.ceil(toMs / binMs) && b < counts.length; b++)
    sum += counts[b] ?? 0;
  return sum;
}
