// Under a started telemetry, the bridge must not keep alive a pipeline the application dropped without
// disposing it: a pipeline made per request would otherwise leak with its gauge series. Whether an object
// was collected is only observable after a collection, so this runs in a child process with --expose-gc
// on the built packages (`npm test` builds before it tests).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const SCRIPT = `
import pino from 'pino';
import { pipeline } from '@keel/resilience';
import { livePipelines } from '@keel/resilience/adapter';
import { startTelemetry } from '@keel/telemetry';
const telemetry = startTelemetry({ serviceName: 'weak', logger: pino({ enabled: false }), spanProcessors: [], traceStore: false, processMetrics: false });
// Finalizers run in later tasks, after the collection that found their objects: a few rounds of both, as
// each pipeline now has two (its gauges and its event series) and a loaded machine may run them late.
const settle = async () => {
  for (let i = 0; i < 8; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    gc();
  }
};
const kept = pipeline('kept', { bulkhead: { maxConcurrent: 2 } });
// One request's pipeline, made and dropped without dispose().
const make = (name) => {
  pipeline(name, { bulkhead: { maxConcurrent: 2 } });
};
make('warm-up');
await telemetry.metricsText();
await settle();
const heapBefore = process.memoryUsage().heapUsed;
for (let i = 0; i < 5_000; i++) make('per-request-' + i);
await settle();
const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
const live = livePipelines().map((p) => p.name);
const text = await telemetry.metricsText();
const dropped = (text.match(/pipeline="(per-request-\\d+|warm-up|_overflow|other)"/g) ?? []).length;
const keptReports = /resilience_bulkhead_in_flight\\{pipeline="kept"\\} 0/.test(text);
await telemetry.shutdown();
const keptObservedAfterShutdown = /pipeline="kept"/.test(await telemetry.metricsText().catch(() => ''));
process.stdout.write(JSON.stringify({ live, heapGrowth, dropped, keptReports, keptName: kept.name, keptObservedAfterShutdown }));
`;

it('lets a started telemetry keep no pipeline alive that the application dropped without disposing it', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', SCRIPT],
    { cwd: import.meta.dirname },
  );
  const result = JSON.parse(stdout) as {
    live: string[];
    heapGrowth: number;
    dropped: number;
    keptReports: boolean;
    keptObservedAfterShutdown: boolean;
  };
  expect(result.live).toEqual(['kept']);
  // Five thousand retained pipelines would hold tens of megabytes.
  expect(result.heapGrowth).toBeLessThan(2 * 1024 * 1024);
  // No gauge series is left reading a collected pipeline.
  expect(result.dropped).toBe(0);
  // A pipeline still referenced keeps reporting.
  expect(result.keptReports).toBe(true);
  // shutdown() still lets go of every live pipeline it observed.
  expect(result.keptObservedAfterShutdown).toBe(false);
});
