// The registry must not keep a pipeline alive. Whether an object was collected is only observable after a
// collection, so this runs in a child process with --expose-gc, on the built package (`npm test` builds
// before it tests), and asserts what a user sees: livePipelines(), the name, the heap.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const SCRIPT = `
import { pipeline } from '@keel/resilience';
import { livePipelines } from '@keel/resilience/adapter';
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    gc();
  }
};
// One request's pipeline, made and dropped without dispose().
const serve = async (name) => pipeline(name, { retry: { maxAttempts: 2 } }).execute(() => 'ok');
await serve('warm-up');
await settle();
const heapBefore = process.memoryUsage().heapUsed;
for (let i = 0; i < 5_000; i++) await serve('per-request-' + i);
await settle();
const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
const live = livePipelines().length;
let reused = true;
try {
  await serve('per-request-0');
} catch {
  reused = false;
}
process.stdout.write(JSON.stringify({ live, heapGrowth, reused }));
`;

it('keeps no pipeline alive that the application dropped without disposing it', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', '--input-type=module', '-e', SCRIPT],
    { cwd: import.meta.dirname },
  );
  const { live, heapGrowth, reused } = JSON.parse(stdout) as {
    live: number;
    heapGrowth: number;
    reused: boolean;
  };
  expect(live).toBe(0);
  // Five thousand retained pipelines would hold tens of megabytes.
  expect(heapGrowth).toBeLessThan(2 * 1024 * 1024);
  // The name of a collected pipeline is free again.
  expect(reused).toBe(true);
});
