import * as grpc from '@grpc/grpc-js';
import { createReadiness } from '@keel/telemetry';
import { startTestTelemetry } from '@keel/telemetry/testing';
import { afterAll, expect, it } from 'vitest';
import { keelClientInterceptor } from './client-interceptor.js';
import { addKeelHealth } from './health.js';
import { keelServerInterceptor } from './server-interceptor.js';
import { echoClient, listen, unary } from './testing/service.js';

const t = startTestTelemetry({ serviceName: 'grpc-close' });
afterAll(() => t.shutdown());

const handles = () =>
  process
    .getActiveResourcesInfo()
    .filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap' || r === 'Timeout' || r === 'Immediate')
    .sort();

it('leaves no socket or timer behind once client, interceptor and server are closed', async () => {
  const before = handles();
  const server = new grpc.Server({ interceptors: [keelServerInterceptor({ telemetry: t.telemetry })] });
  addKeelHealth(server, { readiness: createReadiness() });
  const served = await listen(server, {
    unary: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: 'ok' }),
  });
  const interceptor = keelClientInterceptor({ name: 'closing', telemetry: t.telemetry, idempotent: true });
  const client = echoClient(served.address, { interceptors: [interceptor] });
  await unary(client, { text: 'a' }, { deadline: Date.now() + 5_000 });
  client.close();
  interceptor.close();
  served.server.forceShutdown();
  await expect.poll(handles, { timeout: 5_000 }).toEqual(before);
});
