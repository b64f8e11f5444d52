import { defineConfig } from 'vitest/config';

// Tests import the other workspace packages through their `keel-source` export condition, so they run
// against `src/` and an edit to one package is exercised by every package's tests without a rebuild.
const conditions = ['keel-source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['keel-source'] } },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'examples/*/src/**/*.test.ts',
      'dashboards/src/**/*.test.ts',
      'benchmarks/lib/**/*.test.js',
    ],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
