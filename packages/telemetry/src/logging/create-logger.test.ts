import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { context, ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import pino, { type DestinationStream } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { runWithCorrelationId } from '../propagation/correlation.js';
import { createLogger } from './create-logger.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

function capture(): DestinationStream & { records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  return { records, write: (line: string) => void records.push(JSON.parse(line)) };
}

function inSpan<T>(traceFlags: number, fn: () => T): T {
  const span = trace.wrapSpanContext({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags });
  return context.with(trace.setSpan(context.active(), span), fn);
}

/** pino loaded a second time, as a second installed copy is: its private symbols are not this copy's. */
function otherPinoCopy(): typeof pino {
  const require = createRequire(import.meta.url);
  const entry = require.resolve('pino');
  const root = entry.slice(0, entry.lastIndexOf('/') + 1);
  const cached = Object.keys(require.cache).filter((key) => key.startsWith(root));
  const saved = cached.map((key) => [key, require.cache[key]] as const);
  for (const key of cached) delete require.cache[key];
  try {
    return require('pino') as typeof pino;
  } finally {
    for (const key of Object.keys(require.cache)) if (key.startsWith(root)) delete require.cache[key];
    for (const [key, module] of saved) require.cache[key] = module;
  }
}

// Fields pino itself writes on every record of a logger it built.
const PINO = { level: 30, time: expect.any(Number), pid: process.pid, hostname: hostname() };

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

describe('createLogger', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('writes service and no trace fields outside a span', () => {
    const destination = capture();
    createLogger({ serviceName: 'checkout', destination }).info('ready');
    expect(destination.records).toEqual([{ ...PINO, service: 'checkout', msg: 'ready' }]);
  });

  it('writes trace_id, span_id and two-hex trace_flags inside an active span', () => {
    const destination = capture();
    const log = createLogger({ serviceName: 'checkout', destination });
    inSpan(TraceFlags.SAMPLED, () => log.info({ orderId: 7 }, 'placed'));
    expect(destination.records).toEqual([
      {
        ...PINO,
        service: 'checkout',
        trace_id: TRACE_ID,
        span_id: SPAN_ID,
        trace_flags: '01',
        orderId: 7,
        msg: 'placed',
      },
    ]);
  });

  it('writes trace_flags 00 for an unsampled span', () => {
    const destination = capture();
    const log = createLogger({ serviceName: 'checkout', destination });
    inSpan(TraceFlags.NONE, () => log.info('x'));
    expect(destination.records[0]).toMatchObject({ trace_id: TRACE_ID, trace_flags: '00' });
  });

  it('writes no trace fields for an invalid span context', () => {
    const destination = capture();
    const log = createLogger({ serviceName: 'checkout', destination });
    const span = trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: SPAN_ID, traceFlags: 1 });
    context.with(trace.setSpan(ROOT_CONTEXT, span), () => log.info('x'));
    expect(destination.records).toEqual([{ ...PINO, service: 'checkout', msg: 'x' }]);
  });

  it('keeps the trace fields across await inside the span', async () => {
    const destination = capture();
    const log = createLogger({ serviceName: 'checkout', destination });
    await inSpan(TraceFlags.SAMPLED, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      log.info('later');
    });
    expect(destination.records[0]).toMatchObject({ trace_id: TRACE_ID, span_id: SPAN_ID });
  });

  it('writes the active correlation ID', () => {
    const destination = capture();
    const log = createLogger({ serviceName: 'checkout', destination });
    runWithCorrelationId('req-42', () => log.warn('slow'));
    expect(destination.records).toEqual([
      { ...PINO, level: 40, service: 'checkout', correlation_id: 'req-42', msg: 'slow' },
    ]);
  });

  it('gives child loggers the same fields', () => {
    const destination = capture();
    const log = createLogger({ serviceName: 'checkout', destination }).child({ module: 'cart' });
    runWithCorrelationId('req-1', () => inSpan(TraceFlags.SAMPLED, () => log.info('x')));
    expect(destination.records).toEqual([
      {
        ...PINO,
        module: 'cart',
        service: 'checkout',
        trace_id: TRACE_ID,
        span_id: SPAN_ID,
        trace_flags: '01',
        correlation_id: 'req-1',
        msg: 'x',
      },
    ]);
  });

  it('defaults to info', () => {
    vi.stubEnv('LOG_LEVEL', '');
    const destination = capture();
    const log = createLogger({ serviceName: 'checkout', destination });
    log.debug('hidden');
    expect(log.level).toBe('info');
    expect(destination.records).toEqual([]);
  });

  it('honours LOG_LEVEL', () => {
    vi.stubEnv('LOG_LEVEL', 'DEBUG');
    const destination = capture();
    createLogger({ serviceName: 'checkout', destination }).debug('shown');
    expect(destination.records).toEqual([{ ...PINO, level: 20, service: 'checkout', msg: 'shown' }]);
  });

  it('prefers options.level to LOG_LEVEL', () => {
    vi.stubEnv('LOG_LEVEL', 'debug');
    expect(createLogger({ serviceName: 'checkout', level: 'error', destination: capture() }).level).toBe(
      'error',
    );
  });

  it('rejects an unknown LOG_LEVEL naming the variable and the value', () => {
    vi.stubEnv('LOG_LEVEL', 'verbose');
    expect(() => createLogger({ serviceName: 'checkout' })).toThrow(
      'createLogger: LOG_LEVEL must be one of trace, debug, info, warn, error, fatal, silent, received "verbose"',
    );
  });

  it('rejects a missing service name naming the option', () => {
    expect(() => createLogger({ serviceName: '' })).toThrow(
      'createLogger: option serviceName must be a non-empty string, received ""',
    );
  });
});

describe('createLogger with an application pino logger', () => {
  it('returns a child whose records carry the Keel fields and the application bindings', () => {
    const destination = capture();
    const base = pino({ base: { app: 'shop' } }, destination);
    const log = createLogger({ serviceName: 'checkout', logger: base });
    runWithCorrelationId('req-9', () => inSpan(TraceFlags.SAMPLED, () => log.info({ items: 2 }, 'paid')));
    expect(destination.records).toEqual([
      {
        level: 30,
        time: expect.any(Number),
        app: 'shop',
        service: 'checkout',
        trace_id: TRACE_ID,
        span_id: SPAN_ID,
        trace_flags: '01',
        correlation_id: 'req-9',
        items: 2,
        msg: 'paid',
      },
    ]);
  });

  it('keeps the application mixin and log formatter', () => {
    const destination = capture();
    const base = pino(
      { mixin: () => ({ region: 'eu' }), formatters: { log: (record) => ({ ...record, formatted: true }) } },
      destination,
    );
    createLogger({ serviceName: 'checkout', logger: base }).info('x');
    expect(destination.records[0]).toMatchObject({ region: 'eu', formatted: true, service: 'checkout' });
  });

  it('keeps the application level unless options.level is given', () => {
    const base = pino({ level: 'warn' }, capture());
    expect(createLogger({ serviceName: 'checkout', logger: base }).level).toBe('warn');
    expect(createLogger({ serviceName: 'checkout', logger: base, level: 'debug' }).level).toBe('debug');
  });

  it('redacts the default paths in the child', () => {
    const destination = capture();
    createLogger({ serviceName: 'checkout', logger: pino({}, destination) }).info(
      { password: 'hunter2' },
      'x',
    );
    expect(destination.records[0]).toMatchObject({ password: '[REDACTED]' });
  });

  it('refuses a logger that redacts on its own unless its paths are passed again', () => {
    const base = pino({ redact: ['user.ssn'] }, capture());
    expect(() => createLogger({ serviceName: 'checkout', logger: base })).toThrow(
      /list those paths in options\.redact/,
    );
  });

  it('redacts both the Keel defaults and the paths passed again', () => {
    const destination = capture();
    const base = pino({ redact: ['user.ssn'] }, destination);
    const log = createLogger({ serviceName: 'checkout', logger: base, redact: ['user.ssn'] });
    log.info({ user: { ssn: '123', name: 'Ada' }, token: 't' }, 'x');
    expect(destination.records[0]).toMatchObject({
      user: { ssn: '[REDACTED]', name: 'Ada' },
      token: '[REDACTED]',
    });
  });

  it('refuses a logger from another copy of pino unless its redaction is listed, as it cannot tell whether it redacts', () => {
    const other = otherPinoCopy();
    expect(other.symbols.stringifiersSym).not.toBe(pino.symbols.stringifiersSym);
    const base = other({ redact: ['user.ssn'] }, capture());
    expect(() => createLogger({ serviceName: 'checkout', logger: base })).toThrow(
      /another copy or version of pino.*options\.redact/,
    );
  });

  it('redacts what is listed for a logger from another copy of pino, and keeps its log formatter', () => {
    const other = otherPinoCopy();
    const destination = capture();
    const base = other(
      { redact: ['user.ssn'], formatters: { log: (record) => ({ ...record, formatted: true }) } },
      destination,
    );
    createLogger({ serviceName: 'checkout', logger: base, redact: ['user.ssn'] }).info(
      { user: { ssn: '123' }, password: 'p' },
      'x',
    );
    expect(destination.records[0]).toMatchObject({
      user: { ssn: '[REDACTED]' },
      password: '[REDACTED]',
      formatted: true,
      service: 'checkout',
    });
  });

  it('writes through the parent exactly what the parent writes itself, plus the Keel fields', () => {
    const format = (record: object) => ({ ...record, formatted: true });
    const direct = capture();
    pino({ base: { app: 'shop' }, formatters: { log: format } }, direct).info({ items: 2 }, 'paid');
    const wrapped = capture();
    createLogger({
      serviceName: 'checkout',
      logger: pino({ base: { app: 'shop' }, formatters: { log: format } }, wrapped),
    }).info({ items: 2 }, 'paid');
    const { service, ...rest } = wrapped.records[0] as Record<string, unknown>;
    expect(service).toBe('checkout');
    expect({ ...rest, time: 0 }).toEqual({ ...direct.records[0], time: 0 });
  });

  it('rejects a destination, which a child cannot change', () => {
    expect(() =>
      createLogger({ serviceName: 'c', logger: pino({}, capture()), destination: capture() }),
    ).toThrow(
      'createLogger: option destination cannot be combined with logger; the given logger keeps its own stream',
    );
  });
});
