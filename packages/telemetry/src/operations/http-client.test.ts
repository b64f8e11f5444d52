import { getDeadline, runWithDeadline } from '@keel/resilience';
import { context, defaultTextMapSetter, SpanKind, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { testCore } from '../testing/test-core.js';
import { startHttpClient } from './http.js';

const URL_PARTS = {
  origin: 'http://inventory:8080',
  protocol: 'http:',
  hostname: 'inventory',
  port: '8080',
  pathname: '/items/7',
};

describe('startHttpClient, attempt deadlines and URL parts', () => {
  it('sends the attempt deadline when it is nearer than the one in the context', () => {
    const core = testCore();
    const headers: Record<string, string> = {};
    runWithDeadline(60_000, () =>
      startHttpClient(core, {
        carrier: headers,
        setter: defaultTextMapSetter,
        method: 'GET',
        url: URL_PARTS,
        deadline: performance.now() + 2_000,
      }).end({ statusCode: 200 }),
    );
    const sent = Number(headers['x-keel-deadline-ms']);
    expect(sent).toBeLessThanOrEqual(2_000);
    expect(sent).toBeGreaterThan(1_900);
  });

  it('gives a context holding the attempt span and its deadline', () => {
    const core = testCore();
    const deadline = performance.now() + 2_000;
    const op = startHttpClient(core, {
      carrier: {},
      setter: defaultTextMapSetter,
      method: 'GET',
      url: URL_PARTS,
      deadline,
    });
    expect(getDeadline(op.context)).toBe(deadline);
    expect(trace.getSpan(op.context)?.isRecording()).toBe(true);
    expect(getDeadline(context.active())).toBeUndefined();
    op.end({ statusCode: 200 });
  });

  it('names the span from URL parts as it does from a URL', async () => {
    const core = testCore();
    startHttpClient(core, {
      carrier: {},
      setter: defaultTextMapSetter,
      method: 'get',
      url: URL_PARTS,
    }).end({ statusCode: 503 });
    const [span] = await core.finished();
    expect(span?.kind).toBe(SpanKind.CLIENT);
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'server.address': 'inventory',
      'server.port': 8080,
      'url.full': 'http://inventory:8080/items/7',
      'http.response.status_code': 503,
      'error.type': '503',
    });
  });
});
