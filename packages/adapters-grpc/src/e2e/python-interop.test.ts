// Interoperability with gRPC peers in another language: a Python grpcio client and server (Debian's
// python3-grpcio) against Keel's interceptors. Lower-case metadata keys, grpc-timeout in the standard
// format, W3C headers as plain metadata.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { CircuitOpenError, remainingMs } from '@keel/resilience';
import { getCorrelationId, runWithCorrelationId } from '@keel/telemetry';
import { OUTCOME_STATUS } from '@keel/telemetry/adapter';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { keelClientInterceptor } from '../client-interceptor.js';
import { keelService } from '../keel-service.js';
import { keelServerInterceptor } from '../server-interceptor.js';
import { type Echo, EchoService, echoClient, listen, unary } from '../testing/service.js';

const PYTHON = '/usr/bin/python3';
const script = (name: string) => fileURLToPath(new URL(`../testing/interop/${name}`, import.meta.url));

function pythonGrpc(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import grpc'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const available = pythonGrpc();
if (!available) {
  if (process.env.CI === 'true')
    throw new Error('python3-grpcio is required under CI (apt-get install python3-grpcio)');
  console.warn('python-interop: skipped, python3-grpcio is not installed (apt-get install python3-grpcio)');
}

const t = startTestTelemetry({ serviceName: 'grpc-interop' });
afterAll(() => t.shutdown());

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

describe.skipIf(!available)('interop with Python grpcio', () => {
  it('serves a Python client: its trace, correlation ID and deadline reach the handler; outcomes map to statuses', async () => {
    let seen: Record<string, unknown> = {};
    const server = await listen(
      new grpc.Server({ interceptors: [keelServerInterceptor({ telemetry: t.telemetry })] }),
      keelService(EchoService, {
        async unary(call: grpc.ServerUnaryCall<Echo, Echo>) {
          if (call.request.text === 'fail') throw new CircuitOpenError('open', 1_500);
          seen = {
            traceId: trace.getActiveSpan()?.spanContext().traceId,
            correlationId: getCorrelationId(),
            remaining: remainingMs(),
          };
          return { text: 'node' };
        },
      }),
    );
    try {
      // Asynchronously: the server answering it lives in this process.
      const out = await new Promise<string>((resolve, reject) =>
        execFile(
          PYTHON,
          [script('client.py'), server.address, `00-${TRACE_ID}-00f067aa0ba902b7-01`],
          { encoding: 'utf8', timeout: 15_000 },
          (error, stdout) => (error ? reject(error) : resolve(stdout)),
        ),
      );
      const [ok, failed] = out
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(ok).toEqual({ reply: { text: 'node' }, code: 'OK' });
      expect(seen).toMatchObject({ traceId: TRACE_ID, correlationId: 'py-1' });
      expect(seen.remaining).toBeGreaterThan(1_000);
      expect(seen.remaining).toBeLessThanOrEqual(2_000);
      expect(failed).toMatchObject({
        code: 'UNAVAILABLE',
        details: OUTCOME_STATUS.KEEL_ERR_CIRCUIT_OPEN.message,
        trailers: { 'grpc-retry-pushback-ms': '2000' },
      });
      const spans = await t.spans(SpanKind.SERVER);
      expect(spans.map((s) => s.attributes['rpc.response.status_code'])).toEqual(['OK', 'UNAVAILABLE']);
    } finally {
      server.close();
    }
  });

  it('calls a Python server: context as lower-case metadata, the deadline as grpc-timeout, pushback honoured', async () => {
    const python = spawn(PYTHON, [script('server.py')], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        python.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
        python.once('exit', (code) => reject(new Error(`server.py exited ${code}`)));
      });
      const interceptor = keelClientInterceptor({ name: 'python', telemetry: t.telemetry, idempotent: true });
      const client = echoClient(`127.0.0.1:${port}`, { interceptors: [interceptor] });
      try {
        const root = t.telemetry.tracer.startSpan('root');
        const reply = (await context.with(trace.setSpan(context.active(), root), () =>
          runWithCorrelationId('to-python', () =>
            unary(client, { text: 'x' }, { deadline: Date.now() + 3_000 }),
          ),
        )) as unknown as { metadata: Record<string, string>; remaining: number; calls: number };
        root.end();
        expect(reply.calls).toBe(2);
        expect(reply.metadata['x-correlation-id']).toBe('to-python');
        expect(reply.metadata.traceparent).toMatch(
          new RegExp(`^00-${root.spanContext().traceId}-[0-9a-f]{16}-0[0-9a-f]$`),
        );
        expect(reply.metadata['grpc-previous-rpc-attempts']).toBe('1');
        expect(reply.remaining).toBeGreaterThan(1.5);
        expect(reply.remaining).toBeLessThanOrEqual(3);
        const [span] = await t.spans(SpanKind.CLIENT);
        expect(span?.events.filter((e) => e.name === 'retry')).toHaveLength(1);
      } finally {
        client.close();
        interceptor.close();
      }
    } finally {
      python.stdin.end();
      await new Promise((resolve) => python.once('exit', resolve));
    }
  });
});
