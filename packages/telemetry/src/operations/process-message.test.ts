import { CircuitOpenError } from '@keel/resilience';
import { SpanKind } from '@opentelemetry/api';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestTelemetry } from '../testing/start-test-telemetry.js';
import { testCore } from '../testing/test-core.js';
import { messageAttempt, messageHeaderGetter, messageHeaderSetter } from './message-headers.js';
import { MalformedMessageError, messagePolicy } from './message-policy.js';
import { processMessage, sendMessage } from './process-message.js';

const policy = messagePolicy('test', { timeout: 1_000, retry: { maxAttempts: 3, baseDelayMs: 100 } });

describe('processMessage', () => {
  afterEach(() => vi.useRealTimers());

  it('runs the handler in a consumer span that continues and links the producer, and acks on success', async () => {
    const t = startTestTelemetry();
    const core = t.telemetry;
    const headers: Record<string, unknown> = {};
    await sendMessage(
      core,
      { destination: 'orders', carrier: headers, setter: messageHeaderSetter },
      async () => {},
    );
    let seen: string | undefined;
    const verdict = await processMessage(
      core,
      { destination: 'orders', carrier: headers, getter: messageHeaderGetter },
      policy,
      async ({ correlationId, logger }) => {
        seen = correlationId;
        logger.info('handled');
      },
    );
    expect(verdict).toEqual({ action: 'ack', attempt: 1 });
    const spans = await t.spans();
    await t.shutdown();
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
    const consumer = spans.find((s) => s.kind === SpanKind.CONSUMER);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
    expect(consumer?.links[0]?.context.spanId).toBe(producer?.spanContext().spanId);
    const line = t.records().find((l) => l.msg === 'handled');
    expect(line).toMatchObject({
      trace_id: producer?.spanContext().traceId,
      correlation_id: seen,
      messaging_destination_name: 'orders',
    });
  });

  it('sends a failed delivery back with a doubling delay until the last attempt, then dead-letters it', async () => {
    const core = testCore();
    const fail = async () => {
      throw new Error('db down');
    };
    const carrier = {};
    const get = messageHeaderGetter;
    const first = await processMessage(core, { destination: 'q', carrier, getter: get }, policy, fail);
    const second = await processMessage(
      core,
      { destination: 'q', carrier, getter: get, attempt: 2 },
      policy,
      fail,
    );
    const last = await processMessage(
      core,
      { destination: 'q', carrier, getter: get, attempt: 3 },
      policy,
      fail,
    );
    expect(first).toMatchObject({ action: 'retry', nextAttempt: 2, delayMs: 100 });
    expect(second).toMatchObject({ action: 'retry', nextAttempt: 3, delayMs: 200 });
    expect(last).toMatchObject({ action: 'dead-letter', reason: 'max-attempts', attempt: 3 });
  });

  it('dead-letters a malformed message at once and a failure retryOn refuses', async () => {
    const core = testCore();
    const strict = messagePolicy('test', { retryOn: (e) => !(e instanceof RangeError) });
    const carrier = {};
    const malformed = await processMessage(
      core,
      { destination: 'q', carrier, getter: messageHeaderGetter },
      strict,
      () => {
        throw new MalformedMessageError('not JSON');
      },
    );
    const refused = await processMessage(
      core,
      { destination: 'q', carrier, getter: messageHeaderGetter },
      strict,
      () => {
        throw new RangeError('amount');
      },
    );
    expect(malformed).toMatchObject({ action: 'dead-letter', reason: 'malformed' });
    expect(refused).toMatchObject({ action: 'dead-letter', reason: 'rejected' });
  });

  it('counts a handler past its timeout as failed and aborts its signal', async () => {
    vi.useFakeTimers();
    const core = testCore();
    let signal: AbortSignal | undefined;
    const pending = processMessage(
      core,
      { destination: 'q', carrier: {}, getter: messageHeaderGetter },
      policy,
      (s) => {
        signal = s.signal;
        return new Promise(() => {});
      },
    );
    await vi.advanceTimersByTimeAsync(1_000);
    const verdict = await pending;
    expect(verdict).toMatchObject({ action: 'retry', error: { code: 'KEEL_ERR_TIMEOUT' } });
    expect(signal?.aborted).toBe(true);
  });

  it('retries a delivery the open circuit refused, after the backoff', async () => {
    const core = testCore();
    const verdict = await processMessage(
      core,
      { destination: 'q', carrier: {}, getter: messageHeaderGetter },
      policy,
      () => {
        throw new CircuitOpenError('open', 5_000, 'db');
      },
    );
    expect(verdict).toMatchObject({ action: 'retry', nextAttempt: 2 });
  });
});

describe('message headers', () => {
  it('never carries a deadline across a broker', async () => {
    const core = testCore();
    const { runWithDeadline } = await import('@keel/resilience');
    const headers: Record<string, unknown> = {};
    await runWithDeadline(5_000, () =>
      sendMessage(core, { destination: 'q', carrier: headers, setter: messageHeaderSetter }, async () => {}),
    );
    expect(Object.keys(headers)).not.toContain('x-keel-deadline-ms');
    expect(headers.traceparent).toMatch(/^00-/);
  });

  it('reads only own, bounded string values: numbers, buffers, nested tables and prototype keys are absent', () => {
    const hostile = JSON.parse(
      '{"__proto__": {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}, "baggage": {"a": "b"}, "x-correlation-id": 42}',
    ) as Record<string, unknown>;
    hostile.tracestate = Buffer.from('a=b');
    hostile.big = 'x'.repeat(10_000);
    expect(messageHeaderGetter.get(hostile, 'traceparent')).toBeUndefined();
    expect(messageHeaderGetter.get(hostile, '__proto__')).toBeUndefined();
    expect(messageHeaderGetter.get(hostile, 'baggage')).toBeUndefined();
    expect(messageHeaderGetter.get(hostile, 'x-correlation-id')).toBeUndefined();
    expect(messageHeaderGetter.get(hostile, 'tracestate')).toBeUndefined();
    expect(messageHeaderGetter.get(hostile, 'big')).toBeUndefined();
    expect(messageHeaderGetter.get(hostile, 'constructor')).toBeUndefined();
  });

  it('reads an attempt count only as an integer from 1 to 1000, whatever the header holds', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        const attempt = messageAttempt({ 'x-keel-attempt': value });
        return Number.isInteger(attempt) && attempt >= 1 && attempt <= 1000;
      }),
    );
    expect(messageAttempt({ 'x-keel-attempt': 3 })).toBe(3);
    expect(messageAttempt({ 'x-keel-attempt': '4' })).toBe(4);
    expect(messageAttempt(JSON.parse('{"__proto__": {"x-keel-attempt": 9}}'))).toBe(1);
  });
});

describe('messagePolicy', () => {
  it.each([
    [{ timeout: 0 }, /option timeout must be an integer from 1 to 2147483647, received 0/],
    [
      { retry: { maxAttempts: '3' } },
      /option retry.maxAttempts must be an integer from 1 to 100, received "3"/,
    ],
    [{ retry: { tries: 3 } }, /unknown option "retry.tries"; expected one of maxAttempts/],
    [{ retryOn: 1 }, /option retryOn must be a function, received 1/],
  ])('rejects %j at construction with a message naming the option and the value', (options, message) => {
    expect(() => messagePolicy('consume', options as never)).toThrow(message);
  });
});
