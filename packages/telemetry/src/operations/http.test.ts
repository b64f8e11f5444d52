import { hostname } from 'node:os';
import { getDeadline, runWithDeadline } from '@keel/resilience';
import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import pino, { type DestinationStream } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logging/create-logger.js';
import { getCorrelationId, runWithCorrelationId } from '../propagation/correlation.js';
import { testCore } from '../testing/test-core.js';
import { loggedPath, normalizeMethod, startHttpClient, startHttpServer } from './http.js';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('startHttpServer', () => {
  it('continues the caller trace and names the span {method} {route} when the response ends', async () => {
    const core = testCore();
    const op = startHttpServer(core, {
      carrier: { traceparent: PARENT },
      getter: defaultTextMapGetter,
      method: 'get',
    });
    op.end({ route: '/orders/:id', statusCode: 200 });
    const [span] = await core.finished();
    expect(span?.name).toBe('GET /orders/:id');
    expect(span?.kind).toBe(SpanKind.SERVER);
    expect(span?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(span?.attributes).toMatchObject({ 'http.route': '/orders/:id', 'http.response.status_code': 200 });
  });

  it('starts a new trace at an edge and keeps the caller trace as a link, dropping its baggage', async () => {
    const core = testCore();
    const op = startHttpServer(core, {
      carrier: { traceparent: PARENT, baggage: 'tenant=acme' },
      getter: defaultTextMapGetter,
      method: 'GET',
      edge: true,
    });
    op.end({ route: '/', statusCode: 200 });
    const [span] = await core.finished();
    expect(span?.spanContext().traceId).not.toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span?.links[0]?.context.spanId).toBe('b7ad6b7169203331');
    expect(op.run(() => context.active().getValue(Symbol.for('OpenTelemetry Baggage Key')))).toBeUndefined();
  });

  it('generates a correlation ID when the inbound one is invalid, and the handler sees it', async () => {
    const core = testCore();
    const op = startHttpServer(core, {
      carrier: { 'x-correlation-id': 'bad id\r\ninjected' },
      getter: defaultTextMapGetter,
      method: 'GET',
    });
    expect(op.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(op.run(() => getCorrelationId())).toBe(op.correlationId);
  });

  it('keeps a valid inbound correlation ID', async () => {
    const core = testCore();
    const op = startHttpServer(core, {
      carrier: { 'x-request-id': 'req-42' },
      getter: defaultTextMapGetter,
      method: 'GET',
    });
    expect(op.correlationId).toBe('req-42');
  });

  it('echoes only the correlation ID onto the response, under the correlation header', () => {
    const core = testCore();
    const op = startHttpServer(core, {
      carrier: {
        traceparent: PARENT,
        baggage: 'tenant=acme',
        'x-keel-deadline-ms': '500',
        'x-request-id': 'r-1',
      },
      getter: defaultTextMapGetter,
      method: 'GET',
    });
    const response: Record<string, string> = {};
    op.echoCorrelationId(response, defaultTextMapSetter);
    expect(response).toEqual({ 'x-correlation-id': 'r-1' });
  });

  it('records the duration histogram with the route template and error type of a 5xx', async () => {
    const core = testCore();
    const op = startHttpServer(core, { carrier: {}, getter: defaultTextMapGetter, method: 'POST' });
    op.end({ route: '/charges', statusCode: 503 });
    const text = (await core.metrics.metricsText()).body;
    expect(text).toMatch(
      /http_server_request_duration_seconds_count\{[^}]*http_request_method="POST"[^}]*http_route="\/charges"[^}]*http_response_status_code="503"[^}]*error_type="503"[^}]*\} 1/,
    );
    expect((await core.finished())[0]?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('writes one access log line carrying the trace and status', async () => {
    const core = testCore();
    const op = startHttpServer(core, { carrier: {}, getter: defaultTextMapGetter, method: 'GET' });
    op.end({ route: '/healthz', statusCode: 200 });
    expect(core.lines).toHaveLength(1);
    expect(core.lines[0]).toMatchObject({
      msg: 'request completed',
      http: { method: 'GET', route: '/healthz', status_code: 200 },
    });
  });

  it('puts the request path, without its query string, on the access log line', () => {
    const core = testCore();
    const op = startHttpServer(core, {
      carrier: {},
      getter: defaultTextMapGetter,
      method: 'GET',
      target: '/orders/7?token=secret',
    });
    op.end({ route: '/orders/:id', statusCode: 404 });
    expect(core.lines[0]).toMatchObject({ url: { path: '/orders/7' } });
    expect(JSON.stringify(core.lines[0])).not.toContain('secret');
  });

  it.each([
    ['/orders/7?token=secret#top', '/orders/7'],
    ['/a#frag?x', '/a'],
    ['http://evil.example/x/y?z', '/x/y'],
    ['http://evil.example', ''],
    ['*', '*'],
    ['/bell\u0007/nl\n/del\u007f', '/bell%07/nl%0A/del%7F'],
    ['/ok/\u2028/\u202e', '/ok/%E2%80%A8/%E2%80%AE'],
    [`/${'x'.repeat(300)}`, `/${'x'.repeat(255)}…`],
    [`/${'x'.repeat(254)}😀😀`, `/${'x'.repeat(254)}…`],
  ])('logs the target %j as the path %j', (target, path) => {
    expect(loggedPath(target)).toBe(path);
  });

  it.each([
    [
      'a logger Keel builds',
      (destination: DestinationStream) => createLogger({ serviceName: 'orders', destination }),
    ],
    [
      'the application’s own pino logger',
      (destination: DestinationStream) =>
        createLogger({ serviceName: 'orders', logger: pino({}, destination) }),
    ],
  ])(
    'writes the access line with the request’s trace and correlation fields wherever end() runs, through %s',
    (_, build) => {
      const lines: Record<string, unknown>[] = [];
      const logger = build({ write: (line: string) => void lines.push(JSON.parse(line)) });
      const core = { ...testCore(), logger };
      const op = startHttpServer(core, {
        carrier: { traceparent: PARENT, 'x-correlation-id': 'c-42' },
        getter: defaultTextMapGetter,
        method: 'GET',
      });
      // Another request's span and correlation ID are active: the line must still be this request's.
      const other = trace.wrapSpanContext({ traceId: 'f'.repeat(32), spanId: 'e'.repeat(16), traceFlags: 0 });
      runWithCorrelationId('other', () =>
        context.with(trace.setSpan(context.active(), other), () =>
          op.end({ route: '/orders/:id', statusCode: 502 }),
        ),
      );
      const spanId = trace.getSpan(op.context)?.spanContext().spanId;
      expect(lines).toEqual([
        {
          level: 50,
          time: expect.any(Number),
          pid: process.pid,
          hostname: hostname(),
          service: 'orders',
          trace_id: '0af7651916cd43dd8448eb211c80319c',
          span_id: spanId,
          trace_flags: '01',
          correlation_id: 'c-42',
          http: { method: 'GET', route: '/orders/:id', status_code: 502 },
          duration_ms: expect.any(Number),
          error_type: '502',
          msg: 'request completed',
        },
      ]);
      // The same key order as a line written inside run(), where the logger looks the fields up.
      expect(Object.keys(lines[0] ?? {})).toEqual([
        'level',
        'time',
        'pid',
        'hostname',
        'service',
        'trace_id',
        'span_id',
        'trace_flags',
        'correlation_id',
        'http',
        'duration_ms',
        'error_type',
        'msg',
      ]);
    },
  );

  it('labels unknown methods _OTHER so a caller cannot mint metric series', () => {
    expect(normalizeMethod('BREW')).toBe('_OTHER');
    expect(normalizeMethod('patch')).toBe('PATCH');
  });
});

describe('startHttpClient', () => {
  it('injects traceparent, correlation ID and the remaining deadline into the request headers', async () => {
    const core = testCore();
    const server = startHttpServer(core, {
      carrier: { 'x-correlation-id': 'c-1' },
      getter: defaultTextMapGetter,
      method: 'GET',
    });
    const headers: Record<string, string> = {};
    server.run(() =>
      runWithDeadline(1_000, () =>
        startHttpClient(core, {
          carrier: headers,
          setter: defaultTextMapSetter,
          method: 'GET',
          url: new URL('http://inventory:8080/items?token=secret'),
          attempt: 2,
        }).end({ statusCode: 200 }),
      ),
    );
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(headers['x-correlation-id']).toBe('c-1');
    expect(Number(headers['x-keel-deadline-ms'])).toBeGreaterThan(900);
    const client = (await core.finished()).find((s) => s.kind === SpanKind.CLIENT);
    expect(client?.attributes).toMatchObject({
      'http.request.resend_count': 1,
      'server.address': 'inventory',
      'url.full': 'http://inventory:8080/items',
    });
  });

  it('sends only traceparent to hosts outside the allow-list', async () => {
    const core = testCore({ allowed: (host) => host === 'inventory' });
    const headers: Record<string, string> = {};
    const server = startHttpServer(core, {
      carrier: { 'x-correlation-id': 'c-2' },
      getter: defaultTextMapGetter,
      method: 'GET',
    });
    server.run(() =>
      startHttpClient(core, {
        carrier: headers,
        setter: defaultTextMapSetter,
        method: 'GET',
        url: new URL('https://api.example.com/'),
      }).end({
        statusCode: 200,
      }),
    );
    expect(Object.keys(headers)).toEqual(['traceparent']);
  });

  it('injects the caller context without a span or a histogram sample when span is false', async () => {
    const core = testCore();
    const server = startHttpServer(core, {
      carrier: { 'x-correlation-id': 'c-3' },
      getter: defaultTextMapGetter,
      method: 'GET',
    });
    const headers: Record<string, string> = {};
    server.run(() =>
      startHttpClient(core, {
        carrier: headers,
        setter: defaultTextMapSetter,
        method: 'GET',
        url: new URL('http://inventory/'),
        span: false,
      }).end({ statusCode: 200 }),
    );
    server.end({ route: '/', statusCode: 200 });
    const spans = await core.finished();
    expect(spans).toHaveLength(1);
    expect(headers.traceparent).toContain(spans[0]!.spanContext().spanId);
    expect(headers['x-correlation-id']).toBe('c-3');
    expect((await core.metrics.metricsText()).body).not.toMatch(
      /http_client_request_duration_seconds_count\{/,
    );
  });

  it('applies the allow-list when span is false', () => {
    const core = testCore({ allowed: () => false });
    const server = startHttpServer(core, { carrier: {}, getter: defaultTextMapGetter, method: 'GET' });
    const headers: Record<string, string> = {};
    server.run(() =>
      startHttpClient(core, {
        carrier: headers,
        setter: defaultTextMapSetter,
        method: 'GET',
        url: new URL('https://api.example.com/'),
        span: false,
      }),
    );
    expect(Object.keys(headers)).toEqual(['traceparent']);
  });

  it('carries the attempt deadline in its context', async () => {
    const core = testCore();
    const deadline = performance.now() + 250;
    const op = startHttpClient(core, {
      carrier: {},
      setter: defaultTextMapSetter,
      method: 'GET',
      url: new URL('http://a/'),
      deadline,
    });
    expect(getDeadline(op.context)).toBe(deadline);
    expect(trace.getSpan(op.context)).toBeDefined();
    op.end({ error: new Error('ECONNRESET') });
  });
});
