import { runWithDeadline } from '@keel/resilience';
import { startHttpServer } from '@keel/telemetry/adapter';
import { defaultTextMapGetter } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { injectHeaders } from './inject-headers.js';
import { type TestTelemetry, testTelemetry } from './testing/telemetry.js';

const CALLER = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
let t: TestTelemetry;

beforeAll(() => {
  t = testTelemetry();
});
afterAll(() => t.stop());

function inRequest<T>(fn: () => T): T {
  const op = startHttpServer(t.telemetry, {
    carrier: { traceparent: CALLER, 'x-correlation-id': 'req-9', baggage: 'tenant=acme' },
    getter: defaultTextMapGetter,
    method: 'GET',
    accessLog: false,
  });
  try {
    return op.run(fn);
  } finally {
    op.end({ route: '/', statusCode: 200 });
  }
}

describe('injectHeaders', () => {
  it('writes trace context, baggage, correlation ID and the remaining deadline into a plain object', () => {
    const headers = inRequest(() =>
      runWithDeadline(800, () => injectHeaders({ accept: 'text/plain' }, { url: 'http://b/' })),
    );
    expect(headers.accept).toBe('text/plain');
    expect(headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    expect(headers).toMatchObject({ 'x-correlation-id': 'req-9', baggage: 'tenant=acme' });
    expect(Number(headers['x-keel-deadline-ms'])).toBeLessThanOrEqual(800);
  });

  it('writes into a Headers instance', () => {
    const headers = inRequest(() => injectHeaders(new Headers()));
    expect(headers.get('x-correlation-id')).toBe('req-9');
    expect(headers.get('traceparent')).toContain('0af7651916cd43dd8448eb211c80319c');
  });

  it('starts no span of its own', async () => {
    await t.spans(); // flush what earlier tests ended before clearing
    t.exporter.reset();
    inRequest(() => injectHeaders({}));
    expect((await t.spans()).map((s) => s.name)).toEqual(['GET /']);
  });

  it('rejects headers that are not an object, naming them', () => {
    expect(() => injectHeaders('x' as never)).toThrow(
      /headers must be a Headers or a plain object, received "x"/,
    );
    expect(() => injectHeaders({}, { url: 'not a url' })).toThrow(
      /option url must be an absolute URL, received "not a url"/,
    );
  });
});
