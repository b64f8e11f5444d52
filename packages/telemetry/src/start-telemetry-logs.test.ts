import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import pino from 'pino';
import { afterAll, expect, it } from 'vitest';
import { turnDestination } from './logging/turn-destination.js';
import { startTelemetry } from './start-telemetry.js';

const dir = mkdtempSync(join(tmpdir(), 'keel-logs-'));
const file = join(dir, 'service.log');
const messages = () =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line).msg as string);

afterAll(() => {
  trace.disable();
  context.disable();
  propagation.disable();
  rmSync(dir, { recursive: true, force: true });
});

it('forceFlush() and shutdown() write the log lines the destination holds, before the turn ends', async () => {
  const telemetry = startTelemetry({
    serviceName: 'orders',
    logger: pino(turnDestination({ dest: file })),
    spanProcessors: [],
    processMetrics: false,
    traceStore: false,
  });
  telemetry.logger.info('held');
  expect(messages()).toEqual([]);
  const flushed = telemetry.forceFlush();
  expect(messages()).toEqual(['held']);
  await flushed;
  telemetry.logger.info('last');
  await telemetry.shutdown();
  expect(messages()).toEqual(['held', 'last']);
});
