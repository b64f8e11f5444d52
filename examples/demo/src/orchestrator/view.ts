// The live view: one block of lines per refresh, redrawn in place on a terminal.
import type { Phase, ServiceName } from '../protocol.js';
import { PHASES } from './phases.js';
import {
  type MessageCounts,
  messageCounts,
  type ResilienceReading,
  resilienceReading,
  type ServiceReading,
  SUBSCRIBERS,
  serviceReading,
} from './readings.js';
import type { Snapshot } from './scrape.js';
import type { Style } from './style.js';

export interface ViewInput {
  readonly elapsedS: number;
  readonly phase: Phase;
  readonly services: readonly ServiceName[];
  readonly messaging: boolean;
  readonly load: { readonly perSecond: number; readonly okRatio: number | undefined };
}

const pct = (ratio: number | undefined): string =>
  ratio === undefined ? '    –' : `${(ratio * 100).toFixed(1)} %`;
const ms = (value: number | undefined): string => (value === undefined ? '–' : `${Math.round(value)} ms`);
const rate = (value: number): string => value.toFixed(1);

function breakerText(state: string, s: Style): string {
  if (state === 'closed') return s.green(state);
  if (state === 'half-open') return s.yellow(state);
  return s.red(state);
}

function serviceLine(r: ServiceReading, s: Style): string {
  const errors = pct(r.errorRatio).padStart(8);
  const coloured = r.errorRatio !== undefined && r.errorRatio > 0.05 ? s.red(errors) : errors;
  const limited =
    r.rateLimitedPerSecond === undefined ? '' : `   429 rate-limited ${rate(r.rateLimitedPerSecond)}/s`;
  return `  ${r.name.padEnd(14)}${rate(r.perSecond).padStart(7)}  ${coloured}  ${ms(r.p95Ms).padStart(7)}${limited}`;
}

function resilienceLine(r: ResilienceReading, s: Style): string {
  return (
    `  payments pipeline in orders: breaker ${breakerText(r.breaker, s)} · bulkhead ${r.bulkheadInFlight} in flight,` +
    ` ${r.bulkheadQueued} queued · retry budget ${r.budgetTokens.toFixed(1)} tokens\n` +
    `    per second: retries ${rate(r.retriesPerSecond)} · budget-exhausted ${rate(r.budgetExhaustedPerSecond)}` +
    ` · timeouts ${rate(r.timeoutsPerSecond)} · circuit-open rejections ${rate(r.circuitRejectsPerSecond)}`
  );
}

function messageLine(m: MessageCounts): string {
  const parts = SUBSCRIBERS.map((name) => {
    const c = m.subscribers[name] ?? { acked: 0, deadLettered: 0 };
    return `${name} ${c.acked} acked, ${c.deadLettered} dead-lettered`;
  });
  return `  messages published ${m.published} · ${parts.join(' · ')}`;
}

/** The block for the interval between two scrapes. */
export function renderView(before: Snapshot, after: Snapshot, input: ViewInput, s: Style): string[] {
  const index = PHASES.findIndex((p) => p.name === input.phase);
  const phase = PHASES[index]!;
  const ok = input.load.okRatio === undefined ? '–' : `${Math.round(input.load.okRatio * 100)} %`;
  const lines = [
    `${s.bold(`${String(Math.round(input.elapsedS)).padStart(4)} s`)}  phase ${index + 1}/4 ${s.cyan(s.bold(phase.name))}: ${phase.what}`,
    s.dim(`        load ${rate(input.load.perSecond)} req/s to the gateway, ${ok} answered 2xx`),
    s.dim(`  ${'service'.padEnd(14)}${'req/s'.padStart(7)}  ${'errors'.padStart(8)}  ${'p95'.padStart(7)}`),
  ];
  for (const name of input.services) lines.push(serviceLine(serviceReading(before, after, name), s));
  lines.push(resilienceLine(resilienceReading(before, after), s));
  if (input.messaging) lines.push(messageLine(messageCounts(after)));
  return lines.flatMap((line) => line.split('\n'));
}
