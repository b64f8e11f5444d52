import { remainingMs, runWithDeadline } from '@keel/resilience';
import { getCorrelationId, runWithCorrelationId } from '@keel/telemetry';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { SpanKind, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { rpcClient, serveRpc } from './ws-rpc.js';

const t = startTestTelemetry({ serviceName: 'ws-example' });
let wss: WebSocketServer;
let socket: WebSocket;
let call: ReturnType<typeof rpcClient>;

beforeAll(async () => {
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((resolve) => wss.once('listening', resolve));
  serveRpc(t.telemetry, wss, (method) => {
    if (method === 'fail') throw new Error('handler failed');
    return {
      traceId: trace.getActiveSpan()?.spanContext().traceId,
      correlationId: getCorrelationId(),
      remainingMs: remainingMs(),
    };
  });
  const { port } = wss.address() as { port: number };
  socket = new WebSocket(`ws://127.0.0.1:${port}`);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  call = rpcClient(t.telemetry, socket, '127.0.0.1');
});

afterAll(async () => {
  socket.close();
  await new Promise((resolve) => wss.close(resolve));
  await t.shutdown();
});

describe('an adapter for WebSocket messages written on @keel/telemetry/adapter', () => {
  it('carries one trace, the correlation ID and the deadline from the caller to the handler', async () => {
    t.reset();
    const seen = (await runWithCorrelationId('order-42', () =>
      runWithDeadline(2_000, () => call('quote', { sku: 'a' })),
    )) as { traceId: string; correlationId: string; remainingMs: number };

    const [client] = await t.spans(SpanKind.CLIENT);
    const [server] = await t.spans(SpanKind.SERVER);
    expect(server?.spanContext().traceId).toBe(client?.spanContext().traceId);
    expect(server?.parentSpanContext?.spanId).toBe(client?.spanContext().spanId);
    expect(seen.traceId).toBe(client?.spanContext().traceId);
    expect(seen.correlationId).toBe('order-42');
    expect(seen.remainingMs).toBeGreaterThan(0);
    expect(seen.remainingMs).toBeLessThanOrEqual(2_000);
    expect(server?.attributes['rpc.system.name']).toBe('websocket');
  });

  it('answers a failed handler with an error status on both spans, and the caller sees the failure', async () => {
    t.reset();
    await expect(call('fail')).rejects.toThrow('fail: UNKNOWN');
    const [server] = await t.spans(SpanKind.SERVER);
    expect(server?.attributes['rpc.response.status_code']).toBe('UNKNOWN');
  });

  it('ignores a message that is not JSON instead of failing the connection', async () => {
    socket.send('not json');
    await expect(call('quote')).resolves.toMatchObject({ correlationId: expect.any(String) });
  });
});

describe('the Writing an adapter section of @keel/telemetry', () => {
  it('shows exactly this example', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../../packages/telemetry/README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## Writing an adapter'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(readFileSync(new URL('./ws-rpc.ts', import.meta.url), 'utf8'));
  });
});
