// client → B → C over gRPC: each hop gets what is left of the caller's deadline, never more.
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import { remainingMs } from '@keel/resilience';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { afterAll, afterEach, expect, it } from 'vitest';
import { type KeelClientInterceptor, keelClientInterceptor } from '../client-interceptor.js';
import { keelServerInterceptor } from '../server-interceptor.js';
import { type Echo, echoClient, listen, statusOf, type TestServer, unary } from '../testing/service.js';

const t = startTestTelemetry({ serviceName: 'grpc-deadline' });
afterAll(() => t.shutdown());

const open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open.splice(0).reverse()) o.close();
});

interface Hop {
  ran: number;
  left: (number | undefined)[];
}

/** C records the deadline it got; B burns `burnMs` of its own, then calls C. */
async function chain(burnMs: number) {
  const interceptors = [keelServerInterceptor({ telemetry: t.telemetry })];
  const c: Hop = { ran: 0, left: [] };
  const b: Hop & { outcome?: number } = { ran: 0, left: [] };
  const serverC: TestServer = await listen(new grpc.Server({ interceptors }), {
    unary(_call: unknown, cb: grpc.sendUnaryData<Echo>) {
      c.ran++;
      c.left.push(remainingMs());
      cb(null, { text: 'c' });
    },
  });
  open.push(serverC);
  const toC: KeelClientInterceptor = keelClientInterceptor({
    name: 'c',
    telemetry: t.telemetry,
    retry: false,
  });
  open.push(toC);
  const clientC = echoClient(serverC.address, { interceptors: [toC] });
  open.push(clientC);
  const serverB = await listen(new grpc.Server({ interceptors }), {
    unary(_call: unknown, cb: grpc.sendUnaryData<Echo>) {
      b.ran++;
      b.left.push(remainingMs());
      sleep(burnMs)
        .then(() => statusOf(unary(clientC, { text: 'b' })))
        .then((code) => {
          b.outcome = code;
          cb(null, { text: 'b' });
        });
    },
  });
  open.push(serverB);
  const toB = keelClientInterceptor({ name: 'b', telemetry: t.telemetry });
  open.push(toB);
  const clientB = echoClient(serverB.address, { interceptors: [toB] });
  open.push(clientB);
  return { b, c, clientB };
}

it('shrinks the deadline across two hops', async () => {
  const { b, c, clientB } = await chain(100);
  await unary(clientB, { text: 'a' }, { deadline: Date.now() + 1_000 });
  expect(b.left[0]).toBeLessThanOrEqual(1_000);
  expect(b.left[0]).toBeGreaterThan(500);
  expect(c.left[0]).toBeLessThanOrEqual((b.left[0] ?? 0) - 100);
  expect(c.left[0]).toBeGreaterThan(0);
});

it('never runs the far handler once the caller has given up', async () => {
  const { b, c, clientB } = await chain(150);
  expect(await statusOf(unary(clientB, { text: 'a' }, { deadline: Date.now() + 100 }))).toBe(
    grpc.status.DEADLINE_EXCEEDED,
  );
  await expect.poll(() => b.outcome).toBe(grpc.status.DEADLINE_EXCEEDED);
  expect(c.ran).toBe(0);
});
