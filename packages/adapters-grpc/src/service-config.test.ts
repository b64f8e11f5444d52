// grpc-js can retry by itself when the channel's service config has a retry policy; Keel's retries then
// multiply with it. These tests pin that behaviour down, as the README describes it.
import * as grpc from '@grpc/grpc-js';
import { afterEach, expect, it } from 'vitest';
import { type KeelClientInterceptor, keelClientInterceptor } from './client-interceptor.js';
import { echoClient, listen, statusOf, type TestServer, unary } from './testing/service.js';

const SERVICE_CONFIG = JSON.stringify({
  methodConfig: [
    {
      name: [{ service: 'test.Echo' }],
      retryPolicy: {
        maxAttempts: 2,
        initialBackoff: '0.01s',
        maxBackoff: '0.01s',
        backoffMultiplier: 1,
        retryableStatusCodes: ['UNAVAILABLE'],
      },
    },
  ],
});

let server: TestServer;
let interceptor: KeelClientInterceptor;
let client: grpc.Client;
afterEach(() => {
  client.close();
  interceptor.close();
  server.close();
});

async function callsMade(channelOptions: grpc.ChannelOptions): Promise<number> {
  let calls = 0;
  server = await listen(new grpc.Server(), {
    unary: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => {
      calls++;
      cb({ code: grpc.status.UNAVAILABLE, details: 'down' });
    },
  });
  interceptor = keelClientInterceptor({
    name: 'sc',
    idempotent: true,
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
  });
  const c = echoClient(server.address, { interceptors: [interceptor], ...channelOptions });
  client = c;
  expect(await statusOf(unary(c, { text: 'a' }))).toBe(grpc.status.UNAVAILABLE);
  return calls;
}

it("multiplies Keel's attempts by a service-config retry policy's", async () => {
  expect(await callsMade({ 'grpc.service_config': SERVICE_CONFIG })).toBe(4);
});

it("makes Keel's attempts the only ones with grpc.enable_retries: 0", async () => {
  expect(await callsMade({ 'grpc.service_config': SERVICE_CONFIG, 'grpc.enable_retries': 0 })).toBe(2);
});
