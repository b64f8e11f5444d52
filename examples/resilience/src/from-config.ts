// Pipelines from a JSON file, reloaded on SIGHUP: edit resilience.json (try `"maxAttempts": 0`, then a
// valid change) and run `kill -HUP <pid>`. An invalid file is reported issue by issue and changes nothing;
// a valid one applies to the next calls while calls in flight finish under the options they started with.
// `--once` reloads itself once (with the attempt timeout doubled) and exits, for a quick look.

import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isConfigError, pipelinesFromConfig, type TimeoutPolicy } from '@keel/resilience';

const file = new URL('../resilience.json', import.meta.url);
const load = (): unknown => JSON.parse(readFileSync(file, 'utf8'));

const config = pipelinesFromConfig(load(), {
  // The options that take a function stay in code, by pipeline name.
  overrides: { inventory: { retry: { retryOn: (o) => !o.ok && !String(o.error).includes('404') } } },
});
const inventory = config.get('inventory'); // the same object after every reload

const attemptTimeout = () =>
  inventory.policies.find((p): p is TimeoutPolicy => p.name === 'timeout')?.ms ?? 'none';

function reload(data: unknown): void {
  try {
    config.reload(data);
    console.log(
      `reloaded: ${[...config.pipelines.keys()].join(', ')}; inventory timeout ${attemptTimeout()} ms`,
    );
  } catch (error) {
    if (!isConfigError(error)) throw error;
    console.error(error.message); // the running configuration stays in force
  }
}

let calls = 0;
async function call(): Promise<void> {
  const n = ++calls;
  const result = await inventory
    .execute(async ({ signal }) => {
      await sleep(20, undefined, { signal });
      if (n % 4 === 0) throw new Error('503 from inventory');
      return 'in stock';
    })
    .catch((error: unknown) => `failed: ${String(error)}`);
  console.log(`call ${n}: ${result}`);
}

if (process.argv.includes('--once')) {
  await call();
  const data = load() as { pipelines: Record<string, { timeout?: number }> };
  reload({
    ...data,
    pipelines: { ...data.pipelines, inventory: { ...data.pipelines.inventory, timeout: 400 } },
  });
  reload({ pipelines: { inventory: { retry: { maxAttempts: 0 } }, search: { timeout: 0 } } });
  await call();
  config.dispose();
} else {
  process.on('SIGHUP', () => reload(load()));
  process.on('SIGINT', () => {
    config.dispose();
    process.exit(0);
  });
  console.log(`pid ${process.pid}: edit resilience.json, then kill -HUP ${process.pid}; Ctrl-C ends`);
  for (;;) {
    await call();
    await sleep(1_000);
  }
}
