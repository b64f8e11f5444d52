import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import {
  BulkheadFullError,
  CancelledError,
  CircuitOpenError,
  RateLimitedError,
  TimeoutError,
} from '@keel/resilience';
import { OUTCOME_STATUS, outcomeStatus } from '@keel/telemetry/adapter';
import { describe, expect, it } from 'vitest';
import { FAILURE_STATUSES } from './classify.js';
import * as api from './index.js';
import { toGrpcStatus, UNKNOWN_DETAILS } from './status.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const rows = readme.split('\n').filter((line) => line.startsWith('| '));

describe('README', () => {
  it.each(Object.entries(OUTCOME_STATUS))('maps %s in the status table as the core does', (code, row) => {
    const line = rows.find((l) => l.includes(`| \`${code}\` |`));
    expect(line, `a status-table row for ${code}`).toBeDefined();
    expect(line).toContain(`| \`${row.grpcStatus}\` |`);
  });

  it.each([
    new TimeoutError(10, 'attempt'),
    new CancelledError('gone'),
    new CircuitOpenError('open', 1_000),
    new BulkheadFullError(1, 0),
    new RateLimitedError(1_000),
    Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' }),
  ])('answers $code with the details the status table shows', (error) => {
    const code = outcomeStatus(error)?.code;
    const line = rows.find((l) => l.includes(`| \`${code}\` |`));
    expect(line?.split('|').at(-2)?.trim()).toBe(`\`${toGrpcStatus(error).details}\``);
  });

  it('keeps internal messages out of UNKNOWN details, as it says', () => {
    expect(readme).toContain(`details: '${UNKNOWN_DETAILS}'`);
    expect(toGrpcStatus(new Error('secret')).details).toBe(UNKNOWN_DETAILS);
  });

  it('lists the statuses the breaker counts', () => {
    const line = rows.find((l) => l.startsWith('| `FAILURE_STATUSES`'));
    for (const code of FAILURE_STATUSES) expect(line).toContain(`\`${status[code]}\``);
  });

  it.each(Object.keys(api))('documents the export %s', (name) => {
    expect(readme).toContain(name);
  });

  it('runs its example to the end', async () => {
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    const file = new URL('./readme-example.generated.ts', import.meta.url);
    writeFileSync(file, block!.replace("from '@keel/grpc'", "from './index.js'"));
    const logged: unknown[] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => logged.push(args[0]);
    try {
      await import(file.href);
    } finally {
      console.log = log;
      rmSync(file);
    }
    expect(logged).toContainEqual({ id: 'o-1', total: 42 });
  });
});
