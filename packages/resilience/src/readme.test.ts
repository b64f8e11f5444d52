import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportedNames, listedNames } from './testing/entry-points.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it.each([
    ['@keel/resilience', './index.ts'],
    ['@keel/resilience/adapter', './adapter.ts'],
  ])('lists under Entry points exactly what %s exports', (entry, file) => {
    expect(listedNames(readme, entry)).toEqual(exportedNames(new URL(file, import.meta.url)));
  });
});
