import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, logs, propagation, type TextMapPropagator, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import protobuf from 'protobufjs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startTracing, type Tracing } from './start-tracing.js';
import type { TracingOptions } from './tracing-options.js';

// The OTLP fields these tests read, field numbers as in opentelemetry/proto/trace/v1/trace.proto.
const OTLP_PROTO = `
syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; } }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  repeated Event events = 11;
}
message ScopeSpans { repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;
const ExportRequest = protobuf.parse(OTLP_PROTO).root.lookupType('otlp.ExportTraceServiceRequest');

interface Attribute {
  key: string;
  value: { stringValue?: string; intValue?: string };
}
interface OtlpSpan {
  traceId: Uint8Array;
  spanId: Uint8Array;
  parentSpanId: Uint8Array;
  name: string;
  kind: number;
  events: { name: string; attributes: Attribute[] }[];
}
interface OtlpRequest {
  resourceSpans: { resource: { attributes: Attribute[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
}

function decode(body: Buffer): OtlpRequest {
  const message = ExportRequest.decode(body);
  return ExportRequest.toObject(message, { longs: String, arrays: true, defaults: true }) as OtlpRequest;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const attribute = (attributes: Attribute[], key: string) => attributes.find((a) => a.key === key)?.value;

/** A loopback OTLP/HTTP collector keeping each request body sent to /v1/traces. */
async function collector(): Promise<{ url: string; bodies: Buffer[]; server: Server }> {
  const bodies: Buffer[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/x-protobuf') {
        bodies.push(Buffer.concat(chunks));
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

const OTEL_ENV = [
  'OTEL_SERVICE_NAME',
  'OTEL_RESOURCE_ATTRIBUTES',
  'OTEL_NODE_RESOURCE_DETECTORS',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TIMEOUT',
  'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT',
  'OTEL_TRACES_SAMPLER',
  'OTEL_TRACES_SAMPLER_ARG',
  'OTEL_PROPAGATORS',
  'OTEL_SDK_DISABLED',
  'OTEL_BSP_SCHEDULE_DELAY',
  'OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT',
  'OTEL_ATTRIBUTE_COUNT_LIMIT',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
];

let running: Tracing | undefined;
let servers: Server[] = [];

function start(options: TracingOptions): Tracing {
  running = startTracing(options);
  return running;
}

/** Starts tracing with an in-memory exporter beside it, to read what the SDK recorded. */
function startWithMemory(options: Omit<TracingOptions, 'spanProcessors'>) {
  const memory = new InMemorySpanExporter();
  const tracing = start({ ...options, spanProcessors: [new SimpleSpanProcessor({ exporter: memory })] });
  const finished = async (): Promise<ReadableSpan[]> => {
    await tracing.forceFlush();
    return memory.getFinishedSpans();
  };
  return { tracing, finished };
}

beforeEach(() => {
  // Whatever the machine's environment says, each test starts from none of the variables it exercises.
  for (const name of OTEL_ENV) vi.stubEnv(name, '');
});

afterEach(async () => {
  await running?.shutdown();
  running = undefined;
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  servers = [];
  vi.unstubAllEnvs();
  // startTracing registers global providers; the next test must be able to register its own.
  trace.disable();
  context.disable();
  propagation.disable();
  logs.disable();
});

describe('startTracing', () => {
  it('records finished spans in the local store when no collector is configured', () => {
    const tracing = start({ serviceName: 'local' });
    trace.getTracer('test').startActiveSpan('work', (span) => span.end());
    expect(tracing.store?.render(undefined, { color: false })).toMatch(/^work\s+local\s+/m);
  });

  it('has no store when traceStore is false', () => {
    expect(start({ serviceName: 'quiet', traceStore: false }).store).toBeUndefined();
  });

  it('describes the service with the options and a random instance ID', async () => {
    const { finished } = startWithMemory({ serviceName: 'orders', serviceVersion: '1.2.3' });
    trace.getTracer('test').startSpan('work').end();
    const [span] = await finished();
    expect(span?.resource.attributes).toMatchObject({ 'service.name': 'orders', 'service.version': '1.2.3' });
    expect(span?.resource.attributes['service.instance.id']).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/,
    );
  });

  it('lets OTEL_RESOURCE_ATTRIBUTES add attributes and override the options', async () => {
    vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment.name=staging,service.instance.id=pod-7');
    const { finished } = startWithMemory({ serviceName: 'orders', serviceInstanceId: 'from-code' });
    trace.getTracer('test').startSpan('work').end();
    const [span] = await finished();
    expect(span?.resource.attributes).toMatchObject({
      'deployment.environment.name': 'staging',
      'service.instance.id': 'pod-7',
      'service.name': 'orders',
    });
  });

  it('names the service from OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES and the option', async () => {
    vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'service.name=from-attributes');
    vi.stubEnv('OTEL_SERVICE_NAME', 'from-env');
    const { finished } = startWithMemory({ serviceName: 'from-code' });
    trace.getTracer('test').startSpan('work').end();
    expect((await finished())[0]?.resource.attributes['service.name']).toBe('from-env');
  });

  it('samples per OTEL_TRACES_SAMPLER', () => {
    vi.stubEnv('OTEL_TRACES_SAMPLER', 'always_off');
    const tracing = start({ serviceName: 'sampled' });
    trace.getTracer('test').startSpan('work').end();
    expect(tracing.store?.traceIds()).toEqual([]);
  });

  it('starts nothing under OTEL_SDK_DISABLED, so spans are not recorded', () => {
    vi.stubEnv('OTEL_SDK_DISABLED', 'true');
    const tracing = start({ serviceName: 'disabled' });
    trace.getTracer('test').startSpan('work').end();
    expect(tracing.store?.traceIds()).toEqual([]);
  });

  it('chooses resource detectors per OTEL_NODE_RESOURCE_DETECTORS', async () => {
    vi.stubEnv('OTEL_NODE_RESOURCE_DETECTORS', 'process');
    const { finished } = startWithMemory({ serviceName: 'detected' });
    trace.getTracer('test').startSpan('work').end();
    const attributes = (await finished())[0]?.resource.attributes ?? {};
    expect(attributes['process.pid']).toBe(process.pid);
    expect(attributes['host.name']).toBeUndefined();
  });

  it('limits span attributes per OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', async () => {
    vi.stubEnv('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', '1');
    const { finished } = startWithMemory({ serviceName: 'limited' });
    trace
      .getTracer('test')
      .startSpan('work', { attributes: { a: 1, b: 2 } })
      .end();
    expect(Object.keys((await finished())[0]?.attributes ?? {})).toEqual(['a']);
  });

  it('installs the given propagator', () => {
    const fields = vi.fn(() => ['x-test']);
    const propagator: TextMapPropagator = { inject() {}, extract: (ctx) => ctx, fields };
    start({ serviceName: 'propagating', propagator });
    expect(propagation.fields()).toEqual(['x-test']);
  });

  it('refuses to start while another tracer provider is registered, since it would record nothing', () => {
    start({ serviceName: 'first' });
    expect(() => startTracing({ serviceName: 'second' })).toThrow(/tracer provider is already registered/);
  });

  it.each([
    [{}, 'startTracing: option serviceName must be a non-empty string, received undefined'],
    [
      { serviceName: 'x', otlpEndpoint: 'localhost:4318' },
      'option otlpEndpoint must be an http(s) URL, received "localhost:4318"',
    ],
    [
      { serviceName: 'x', exportTimeoutMs: 0 },
      'startTracing: option exportTimeoutMs must be an integer from 1 to 2147483647, received 0',
    ],
    [
      { serviceName: 'x', servicename: 'y' },
      'startTracing: unknown option "servicename"; expected one of serviceName, serviceVersion',
    ],
    [undefined, 'startTracing: options must be an object with serviceName, received undefined'],
  ])('rejects invalid options %o naming the option', (options, message) => {
    expect(() => startTracing(options as TracingOptions)).toThrow(message);
  });
});

describe('startTracing with an OTLP collector', () => {
  it('exports parent and child spans with their event as OTLP/HTTP protobuf', async () => {
    const otlp = await collector();
    servers.push(otlp.server);
    const tracing = start({ serviceName: 'e2e', serviceVersion: '0.1.0', otlpEndpoint: otlp.url });
    const tracer = trace.getTracer('e2e-test');
    tracer.startActiveSpan('parent', (parent) => {
      const child = tracer.startSpan('child');
      child.addEvent('retry', { 'keel.attempt': 2 });
      child.end();
      parent.end();
    });
    await tracing.shutdown();

    const requests = otlp.bodies.map(decode);
    const resourceSpans = requests.flatMap((r) => r.resourceSpans);
    const spans = resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans));
    const resource = resourceSpans[0]!.resource.attributes;
    expect(attribute(resource, 'service.name')?.stringValue).toBe('e2e');
    expect(attribute(resource, 'service.version')?.stringValue).toBe('0.1.0');
    expect(attribute(resource, 'service.instance.id')?.stringValue).toMatch(/^[0-9a-f-]{36}$/);
    const parent = spans.find((s) => s.name === 'parent')!;
    const child = spans.find((s) => s.name === 'child')!;
    expect(hex(child.traceId)).toBe(hex(parent.traceId));
    expect(hex(child.parentSpanId)).toBe(hex(parent.spanId));
    expect(parent.parentSpanId).toHaveLength(0);
    expect(child.kind).toBe(1); // SPAN_KIND_INTERNAL
    expect(child.events).toHaveLength(1);
    expect(child.events[0]!.name).toBe('retry');
    expect(attribute(child.events[0]!.attributes, 'keel.attempt')?.intValue).toBe('2');
    expect(tracing.store).toBeUndefined();
  });

  it('exports to OTEL_EXPORTER_OTLP_ENDPOINT, which wins over the option', async () => {
    const otlp = await collector();
    servers.push(otlp.server);
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', otlp.url);
    const tracing = start({ serviceName: 'env', otlpEndpoint: 'http://127.0.0.1:9/' });
    trace.getTracer('test').startSpan('from-env').end();
    await tracing.forceFlush();
    const names = otlp.bodies
      .map(decode)
      .flatMap((r) => r.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans)));
    expect(names.map((s) => s.name)).toEqual(['from-env']);
  });

  it('batches per OTEL_BSP_SCHEDULE_DELAY', async () => {
    const otlp = await collector();
    servers.push(otlp.server);
    vi.stubEnv('OTEL_BSP_SCHEDULE_DELAY', '20'); // the default, 5 s, would outlast the wait below
    start({ serviceName: 'batched', otlpEndpoint: otlp.url });
    trace.getTracer('test').startSpan('scheduled').end();
    await vi.waitFor(() => expect(otlp.bodies).toHaveLength(1), { timeout: 2000, interval: 20 });
  });

  it('keeps the local store beside the exporter when asked to', async () => {
    const otlp = await collector();
    servers.push(otlp.server);
    const tracing = start({ serviceName: 'both', otlpEndpoint: otlp.url, traceStore: { maxTraces: 5 } });
    trace.getTracer('test').startSpan('seen twice').end();
    expect(tracing.store?.spanCount).toBe(1);
  });
});

describe('startTracing under OTEL_TRACES_EXPORTER', () => {
  it('exports through the exporter the environment selects, with the service resource and the given propagator', async () => {
    const bodies: unknown[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/json') {
          bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    vi.stubEnv('OTEL_TRACES_EXPORTER', 'otlp');
    vi.stubEnv('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/json');
    vi.stubEnv('OTEL_EXPORTER_OTLP_ENDPOINT', `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const fields = vi.fn(() => ['x-test']);
    const propagator: TextMapPropagator = { inject() {}, extract: (ctx) => ctx, fields };
    const tracing = start({ serviceName: 'env-exported', propagator });
    expect(propagation.fields()).toEqual(['x-test']);
    expect(tracing.store).toBeUndefined();
    trace.getTracer('test').startSpan('work').end();
    await tracing.forceFlush();
    const sent = JSON.stringify(bodies);
    expect(sent).toContain('"name":"work"');
    expect(sent).toContain('{"key":"service.name","value":{"stringValue":"env-exported"}}');
  });

  it('refuses spanProcessors with a TypeError, since NodeSDK takes none beside the exporters it builds', () => {
    vi.stubEnv('OTEL_TRACES_EXPORTER', 'console');
    const processor = new SimpleSpanProcessor({ exporter: new InMemorySpanExporter() });
    expect(() => startTracing({ serviceName: 'x', spanProcessors: [processor] })).toThrow(
      new TypeError(
        'startTracing: option spanProcessors cannot be combined with OTEL_TRACES_EXPORTER="console"; ' +
          "the exporters that variable selects come from @opentelemetry/sdk-node, which takes no processor beside them; unset it to keep Keel's processors, or drop the option",
      ),
    );
  });

  it('refuses a trace store asked for explicitly, and starts without one by default', () => {
    vi.stubEnv('OTEL_TRACES_EXPORTER', 'console');
    expect(() => startTracing({ serviceName: 'x', traceStore: true })).toThrow(
      /option traceStore cannot be combined/,
    );
    expect(start({ serviceName: 'x', traceStore: false, spanProcessors: [] }).store).toBeUndefined();
  });

  it("keeps Keel's own processors when the variable is empty or none", () => {
    vi.stubEnv('OTEL_TRACES_EXPORTER', 'none');
    const tracing = start({ serviceName: 'kept' });
    trace.getTracer('test').startSpan('work').end();
    expect(tracing.store?.traceIds()).toHaveLength(1);
  });
});
