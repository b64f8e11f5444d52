import { defaultTextMapGetter, defaultTextMapSetter, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { testCore } from '../testing/test-core.js';
import { startConsumer, startProducer } from './messaging.js';

describe('messaging operations', () => {
  it('links the process span to the producer and continues its trace and correlation ID', async () => {
    const core = testCore();
    const headers: Record<string, string> = {};
    const send = startProducer(core, {
      destination: 'orders',
      carrier: headers,
      setter: defaultTextMapSetter,
    });
    send.end();
    const process = startConsumer(core, {
      destination: 'orders',
      carrier: headers,
      getter: defaultTextMapGetter,
    });
    process.end();
    const spans = await core.finished();
    const producer = spans.find((s) => s.kind === SpanKind.PRODUCER);
    const consumer = spans.find((s) => s.kind === SpanKind.CONSUMER);
    expect(producer?.name).toBe('send orders');
    expect(consumer?.name).toBe('process orders');
    expect(consumer?.spanContext().traceId).toBe(producer?.spanContext().traceId);
    expect(consumer?.links[0]?.context.spanId).toBe(producer?.spanContext().spanId);
    expect(consumer?.attributes).toMatchObject({
      'messaging.system': 'rabbitmq',
      'messaging.operation.type': 'process',
    });
  });

  it('counts consumed and sent messages and records failures with error.type', async () => {
    const core = testCore();
    const headers: Record<string, string> = {};
    startProducer(core, { destination: 'orders', carrier: headers, setter: defaultTextMapSetter }).end();
    const process = startConsumer(core, {
      destination: 'orders',
      carrier: headers,
      getter: defaultTextMapGetter,
    });
    process.end({ error: Object.assign(new Error('db down'), { code: 'ECONNREFUSED' }) });
    const text = (await core.metrics.metricsText()).body;
    expect(text).toMatch(
      /messaging_client_sent_messages_total\{[^}]*messaging_destination_name="orders"[^}]*\} 1/,
    );
    expect(text).toMatch(
      /messaging_client_consumed_messages_total\{[^}]*messaging_destination_name="orders"[^}]*\} 1/,
    );
    expect(text).toMatch(/messaging_process_duration_seconds_count\{[^}]*error_type="ECONNREFUSED"[^}]*\} 1/);
    const consumer = (await core.finished()).find((s) => s.kind === SpanKind.CONSUMER);
    expect(consumer?.status.code).toBe(SpanStatusCode.ERROR);
  });
});
