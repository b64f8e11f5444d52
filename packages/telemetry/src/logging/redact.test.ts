import { hostname } from 'node:os';
import type { DestinationStream } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger } from './create-logger.js';
import { DEFAULT_REDACT_KEYS } from './redact.js';

function logOnce(record: object, redact?: string[]): Record<string, unknown> {
  const records: Record<string, unknown>[] = [];
  const destination: DestinationStream = { write: (line: string) => void records.push(JSON.parse(line)) };
  createLogger({ serviceName: 'svc', destination, ...(redact ? { redact } : {}) }).info(record, 'm');
  return records[0] ?? {};
}

const PINO = {
  level: 30,
  time: expect.any(Number),
  pid: process.pid,
  hostname: hostname(),
  service: 'svc',
  msg: 'm',
};
const R = '[REDACTED]';

describe('default redaction', () => {
  it.each(DEFAULT_REDACT_KEYS)('redacts %s at the top level', (key) => {
    expect(logOnce({ [key]: 'x', keep: 1 })).toEqual({ ...PINO, [key]: R, keep: 1 });
  });

  it.each(DEFAULT_REDACT_KEYS)('redacts %s under headers', (key) => {
    expect(logOnce({ headers: { [key]: 'x', accept: '*/*' } })).toEqual({
      ...PINO,
      headers: { [key]: R, accept: '*/*' },
    });
  });

  it.each(DEFAULT_REDACT_KEYS)('redacts %s under req.headers and res.headers', (key) => {
    const record = {
      req: { method: 'GET', headers: { [key]: 'x' } },
      res: { statusCode: 200, headers: { [key]: 'y' } },
    };
    expect(logOnce(record)).toEqual({
      ...PINO,
      req: { method: 'GET', headers: { [key]: R } },
      res: { statusCode: 200, headers: { [key]: R } },
    });
  });

  it.each(DEFAULT_REDACT_KEYS)('redacts %s one level down in any object', (key) => {
    expect(logOnce({ user: { name: 'Ada', [key]: 'x' } })).toEqual({
      ...PINO,
      user: { name: 'Ada', [key]: R },
    });
  });

  it('leaves look-alike keys alone', () => {
    expect(logOnce({ passwordHint: 'pet', tokens: 3 })).toEqual({ ...PINO, passwordHint: 'pet', tokens: 3 });
  });

  it('adds the paths the application passes', () => {
    expect(logOnce({ card: { pan: '4111' }, password: 'p' }, ['card.pan'])).toEqual({
      ...PINO,
      card: { pan: R },
      password: R,
    });
  });
});
