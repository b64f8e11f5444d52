// A tour of @keel/resilience: a flaky dependency, then an outage, then recovery — every decision printed,
// then what @keel/telemetry recorded of it: the trace of one order and the resilience metrics.

import { setTimeout as sleep } from 'node:timers/promises';
import {
  isCircuitOpenError,
  pipeline,
  type ResilienceEvent,
  remainingMs,
  runWithDeadline,
} from '@keel/resilience';
import { startTelemetry } from '@keel/telemetry';
import { startHttpServer } from '@keel/telemetry/adapter';
import { defaultTextMapGetter } from '@opentelemetry/api';
import pino from 'pino';

// Started first, so every pipeline is observed. Logs are silenced to keep the tour readable.
const telemetry = startTelemetry({
  serviceName: 'shop',
  logger: pino({ level: 'silent' }),
  processMetrics: false,
});
const traced = new Map<number, string>();

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
  // What an inbound adapter (Express, gRPC) does per request: a server span the calls below hang under.
  const request = startHttpServer(telemetry, {
    carrier: {},
    getter: defaultTextMapGetter,
    method: 'POST',
    accessLog: false,
  });
  traced.set(n, request.traceId);
  let status = 200;
  try {
    const answer = await request.run(() => stock.execute(({ signal }) => inventory(signal)));
    console.log(`  order ${n}: ${answer}`);
  } catch (error) {
    status = 503;
    const kind = isCircuitOpenError(error) ? 'rejected at once' : 'failed';
    console.log(`  order ${n}: ${kind}: ${(error as Error).message}`);
  } finally {
    request.end({ route: '/orders', statusCode: status });
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

console.log(
  '\n5. What telemetry saw: the trace of order 5 (retried, then given up) and the resilience metrics.',
);
await telemetry.forceFlush();
console.log(telemetry.traces?.render(traced.get(5), { width: 110 }));
const metrics = await telemetry.metricsText();
for (const line of metrics.split('\n'))
  if (line.startsWith('resilience_events_total')) console.log(`  ${line}`);

stock.dispose();
await telemetry.shutdown();
