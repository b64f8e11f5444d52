// Under a started telemetry, a disposed pipeline (or a closed client's) must leave nothing behind: no
// subscription, no gauge series, no heap. The heap is only observable after a collection, so that part
// runs in a child process with --expose-gc on the built packages (`npm test` builds before it tests).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { pipeline } from '@keel/resilience';
import { context, propagation, trace } from '@opentelemetry/api';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelemetry, type Telemetry } from '../start-telemetry.js';

let telemetry: Telemetry;

beforeAll(() => {
  telemetry = startTelemetry({
    serviceName: 'release',
    logger: pino({ enabled: false }),
    spanProcessors: [],
    traceStore: false,
    processMetrics: false,
  });
});

afterAll(async () => {
  await telemetry.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});

describe('a disposed pipeline under a started telemetry', () => {
  it('takes its gauge series out of /metrics', async () => {
    const p = pipeline('release-one', { bulkhead: { maxConcurrent: 2 } });
    expect(await telemetry.metricsText()).toMatch(/resilience_circuit_state\{pipeline="release-one"/);
    p.dispose();

    const text = await telemetry.metricsText();
    expect(text).not.toMatch(/pipeline="release-one"/);
  });

  it('no longer sends its events to metrics', async () => {
    const p = pipeline('release-events', { retry: false });
    p.dispose();
    p.reset();

    expect(await telemetry.metricsText()).not.toMatch(/pipeline="release-events"/);
  });

  it('leaves a fresh pipeline its own gauge series after thousands of disposed names', async () => {
    for (let i = 0; i < 2_500; i++) pipeline(`release-many-${i}`).dispose();
    const fresh = pipeline('release-fresh');

    const text = await telemetry.metricsText();
    expect(text).toMatch(/resilience_circuit_state\{pipeline="release-fresh",state="closed"\} 1/);
    expect(text).not.toMatch(/resilience_circuit_state\{pipeline="(release-many-\d+|_overflow|other)"/);
    fresh.dispose();
  });
});

const SCRIPT = `
import pino from 'pino';
import { pipeline } from '@keel/resilience';
import { startTelemetry } from '@keel/telemetry';
const telemetry = startTelemetry({ serviceName: 'release', logger: pino({ enabled: false }), spanProcessors: [], traceStore: false, processMetrics: false });
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    gc();
  }
};
const cycle = async (name) => {
  const p = pipeline(name, { retry: { maxAttempts: 2 } });
  await p.execute(() => 'ok');
  p.dispose();
};
await cycle('warm-up');
await telemetry.metricsText();
await settle();
const heapBefore = process.memoryUsage().heapUsed;
for (let i = 0; i < 2_000; i++) await cycle('closed-' + (i % 100));
await telemetry.metricsText();
await settle();
const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
await telemetry.shutdown();
process.stdout.write(JSON.stringify({ heapGrowth }));
`;

it('keeps no heap for the pipelines disposed under a started telemetry', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', SCRIPT],
    { cwd: import.meta.dirname },
  );
  const { heapGrowth } = JSON.parse(stdout) as { heapGrowth: number };
  // Two thousand retained pipelines would hold tens of megabytes.
  expect(heapGrowth).toBeLessThan(2 * 1024 * 1024);
});
