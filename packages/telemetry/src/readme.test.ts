import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportedNames, listedNames } from '../../resilience/src/testing/entry-points.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each([
    ['@keel/telemetry', './index.ts'],
    ['@keel/telemetry/adapter', './adapter.ts'],
    ['@keel/telemetry/testing', './testing.ts'],
  ])('lists under Entry points exactly what %s exports', (entry, file) => {
    expect(listedNames(readme, entry)).toEqual(exportedNames(new URL(file, import.meta.url)));
  });
});
