// A tour of @keel/resilience: a flaky dependency, then an outage, then recovery — every decision printed.

import { setTimeout as sleep } from 'node:timers/promises';
import {
  isCircuitOpenError,
  pipeline,
  type ResilienceEvent,
  remainingMs,
  runWithDeadline,
} from '@keel/resilience';

type Mode = 'flaky' | 'down' | 'up';
let mode: Mode = 'flaky';
let calls = 0;

/** The dependency: answers in ~20 ms; fails one call in three when flaky, every call when down. */
async function inventory(signal: AbortSignal): Promise<string> {
  calls++;
  await sleep(20, undefined, { signal });
  if (mode === 'down' || (mode === 'flaky' && calls % 3 === 0)) throw new Error('503 from inventory');
  return 'in stock';
}

const stock = pipeline('inventory', {
  timeout: 200,
  totalTimeout: 2_000,
  retry: { maxAttempts: 3, baseDelayMs: 50 },
  circuitBreaker: { consecutiveFailures: 4, breakDurationMs: 500 },
  bulkhead: { maxConcurrent: 8, maxQueue: 16 },
});

const describe = (e: ResilienceEvent): string =>
  [
    `${e.policy}:${e.kind}`.padEnd(28),
    `attempt ${e.attempt}`,
    e.delayMs === undefined ? '' : `delay ${Math.round(e.delayMs)} ms`,
    e.error instanceof Error ? `(${e.error.message})` : '',
  ]
    .filter(Boolean)
    .join('  ');

const stop = stock.onEvent((e) => {
  if (e.kind !== 'attempt' && e.kind !== 'success') console.log(`    ${describe(e)}`);
});

async function order(n: number): Promise<void> {
  try {
    const answer = await stock.execute(({ signal }) => inventory(signal));
    console.log(`  order ${n}: ${answer}`);
  } catch (error) {
    const kind = isCircuitOpenError(error) ? 'rejected at once' : 'failed';
    console.log(`  order ${n}: ${kind}: ${(error as Error).message}`);
  }
}

console.log('1. A flaky dependency: retries with jittered backoff hide the failures.');
for (let n = 1; n <= 4; n++) await order(n);

console.log(
  '\n2. An outage: after 4 failures in a row the circuit opens, and calls fail fast without touching the dependency.',
);
mode = 'down';
for (let n = 5; n <= 10; n++) await order(n);
console.log(`  circuit: ${stock.circuitState}, dependency calls so far: ${calls}`);

console.log('\n3. Recovery: after the break, one probe closes the circuit.');
mode = 'up';
await sleep(550);
for (let n = 11; n <= 12; n++) await order(n);
console.log(`  circuit: ${stock.circuitState}`);

console.log('\n4. A caller deadline of 10 ms bounds every timeout inside it: the 20 ms call times out.');
await runWithDeadline(10, async () => {
  console.log(`  remaining at start: ${Math.round(remainingMs() ?? 0)} ms`);
  await order(13);
});

stop();
stock.dispose();
