// Every Keel entry point stops an older Node.js at import with one line naming both versions. Run with
// the machine's own older Node.js, if it has one, against the built packages (`npm test` builds before
// it tests).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { nodeAtLeast, REQUIRED_NODE } from './internal/node-version.js';

const run = promisify(execFile);
const ENTRIES = [
  '@keel/resilience',
  '@keel/resilience/adapter',
  '@keel/telemetry',
  '@keel/telemetry/adapter',
  '@keel/telemetry/testing',
  '@keel/express',
  '@keel/http',
  '@keel/grpc',
  '@keel/amqp',
];

async function olderNode(): Promise<string | undefined> {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      const { stdout } = await run(candidate, ['-p', 'process.versions.node']);
      if (!nodeAtLeast(stdout.trim())) return candidate;
    } catch {
      // Not installed there.
    }
  }
  return undefined;
}

const older = await olderNode();
if (older === undefined && process.env.CI !== 'true') {
  console.warn(
    'node-check.test.ts: no Node.js older than %s on this machine; skipping the import checks',
    REQUIRED_NODE,
  );
}

describe('the Node.js version check', () => {
  it('compares versions part by part', () => {
    expect(nodeAtLeast('22.15.0', '22.15.0')).toBe(true);
    expect(nodeAtLeast('22.9.0', '22.15.0')).toBe(false);
    expect(nodeAtLeast('24.0.0', '22.15.0')).toBe(true);
    expect(nodeAtLeast('20.20.2', '22.15.0')).toBe(false);
  });

  it('asks for the same Node.js as the packages’ engines field', () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe(`>=${REQUIRED_NODE.replace(/\.0$/, '')}`);
  });

  it.runIf(older !== undefined || process.env.CI === 'true').concurrent.each(ENTRIES)(
    'stops %s at import under an older Node.js with one line naming both versions',
    async (entry) => {
      const node = older ?? 'node-older-than-required';
      const found = (await run(node, ['-p', 'process.versions.node'])).stdout.trim();
      const failure = await run(node, ['--input-type=module', '-e', `await import('${entry}')`], {
        cwd: import.meta.dirname,
      }).then(
        () => undefined,
        (error: { code?: number; stderr?: string }) => error,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stderr).toContain(`Keel requires Node.js >= ${REQUIRED_NODE}, found ${found}`);
      expect(failure?.stderr).not.toContain('Cannot read properties');
    },
  );
});
