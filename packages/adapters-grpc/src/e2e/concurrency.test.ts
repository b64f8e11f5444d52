// Many calls in flight at once through both interceptors: each handler sees its own caller's context.
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { getCorrelationId, runWithCorrelationId } from '@keel/telemetry';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { context, propagation, trace } from '@opentelemetry/api';
import { afterAll, expect, it } from 'vitest';
import { keelClientInterceptor } from '../client-interceptor.js';
import { keelServerInterceptor } from '../server-interceptor.js';
import { type Echo, echoClient, listen, unary } from '../testing/service.js';

const t = startTestTelemetry({ serviceName: 'grpc-concurrency', logLevel: 'warn' });
afterAll(() => t.shutdown());

it('keeps 1,000 concurrent calls apart: no correlation ID, baggage or trace bleeds into another', async () => {
  const interceptors = [keelServerInterceptor({ telemetry: t.telemetry })];
  const server = await listen(new grpc.Server({ interceptors }), {
    unary(call: grpc.ServerUnaryCall<Echo, Echo>, cb: grpc.sendUnaryData<Echo>) {
      // Interleave: each handler yields before reading its context.
      sleep(Math.random() * 5).then(() =>
        cb(null, {
          text: String(getCorrelationId()),
          tenant: propagation.getActiveBaggage()?.getEntry('tenant')?.value,
          traceId: trace.getActiveSpan()?.spanContext().traceId,
          sent: call.request.text,
        }),
      );
    },
  });
  const interceptor = keelClientInterceptor({ name: 'echo', telemetry: t.telemetry, circuitBreaker: false });
  const client = echoClient(server.address, { interceptors: [interceptor] });
  try {
    const results = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) => {
        const root = t.telemetry.tracer.startSpan(`root ${i}`);
        const bag = propagation.createBaggage({ tenant: { value: `t${i}` } });
        const ctx = propagation.setBaggage(trace.setSpan(context.active(), root), bag);
        return context
          .with(ctx, () => runWithCorrelationId(`call-${i}`, () => unary(client, { text: String(i) })))
          .then((reply) => ({ reply, i, root }));
      }),
    );
    for (const { reply, i, root } of results) {
      expect(reply).toEqual({
        text: `call-${i}`,
        tenant: `t${i}`,
        traceId: root.spanContext().traceId,
        sent: String(i),
      });
      root.end();
    }
  } finally {
    client.close();
    interceptor.close();
    server.close();
  }
});
