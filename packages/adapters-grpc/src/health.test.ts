import * as grpc from '@grpc/grpc-js';
import { pipeline } from '@keel/resilience';
import { createReadiness, gracefulShutdown, type Readiness } from '@keel/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { drainableGrpcServer } from './drainable.js';
import { addKeelHealth, HealthService, type ServingStatus } from './health.js';
import { echoClient, listen, type TestServer, unary } from './testing/service.js';

const HealthClient = grpc.makeGenericClientConstructor(HealthService, 'grpc.health.v1.Health');
type HealthApi = grpc.Client & {
  check(
    request: { service: string },
    callback: (error: grpc.ServiceError | null, response?: { status: ServingStatus }) => void,
  ): void;
  watch(request: { service: string }): grpc.ClientReadableStream<{ status: ServingStatus }>;
};

let server: TestServer | undefined;
let clients: grpc.Client[] = [];
afterEach(() => {
  for (const c of clients) c.close();
  clients = [];
  server?.close();
  server = undefined;
});

async function start(readiness: Readiness, hold?: (cb: grpc.sendUnaryData<unknown>) => void) {
  const s = new grpc.Server();
  addKeelHealth(s, { readiness, services: ['test.Echo'], watchIntervalMs: 20 });
  server = await listen(s, {
    unary: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => (hold ? hold(cb) : cb(null, { text: 'ok' })),
  });
  const health = new HealthClient(server.address, grpc.credentials.createInsecure()) as unknown as HealthApi;
  clients.push(health);
  return health;
}

function check(health: HealthApi, service = ''): Promise<ServingStatus | number> {
  return new Promise((resolve) =>
    health.check({ service }, (error, response) => resolve(error ? error.code : response!.status)),
  );
}

describe('addKeelHealth', () => {
  it("turns NOT_SERVING while a required dependency's breaker is open, and stays SERVING for another", async () => {
    const ledger = pipeline('ledger', { circuitBreaker: {} });
    const search = pipeline('search', { circuitBreaker: {} });
    const health = await start(
      createReadiness({ pipelines: [{ pipeline: ledger, required: true }, search] }),
    );
    expect(await check(health)).toBe('SERVING');
    search.isolate();
    expect(await check(health)).toBe('SERVING');
    expect(await check(health, 'test.Echo')).toBe('SERVING');
    ledger.isolate();
    expect(await check(health)).toBe('NOT_SERVING');
    ledger.reset();
    expect(await check(health)).toBe('SERVING');
    ledger.dispose();
    search.dispose();
  });

  it('answers NOT_FOUND for a service it does not know', async () => {
    const health = await start(createReadiness());
    expect(await check(health, 'nope.Service')).toBe(grpc.status.NOT_FOUND);
  });

  it('streams the change to a watcher when the service starts stopping', async () => {
    const readiness = createReadiness();
    const health = await start(readiness);
    const stream = health.watch({ service: '' });
    const seen: ServingStatus[] = [];
    stream.on('data', (m: { status: ServingStatus }) => {
      seen.push(m.status);
      if (seen.length === 1) readiness.markStopping();
    });
    stream.on('error', () => {});
    await expect.poll(() => seen).toEqual(['SERVING', 'NOT_SERVING']);
    stream.cancel();
  });

  it('reports NOT_SERVING during graceful shutdown while in-flight calls finish', async () => {
    const readiness = createReadiness();
    let answer: grpc.sendUnaryData<unknown> | undefined;
    const health = await start(readiness, (cb) => {
      answer = cb;
    });
    const client = echoClient(server!.address);
    clients.push(client);
    const inFlight = unary(client, { text: 'slow' });
    await expect.poll(() => answer).toBeDefined();
    // The load balancer's window: readiness has turned, the server still answers probes.
    const shutdown = gracefulShutdown({
      readiness,
      drain: [drainableGrpcServer(server!.server)],
      signals: [],
      drainDelayMs: 300,
    });
    const result = shutdown.shutdown('test');
    expect(await check(health)).toBe('NOT_SERVING');
    answer!(null, { text: 'finished' });
    expect(await inFlight).toEqual({ text: 'finished' });
    expect(await result).toMatchObject({ drained: true, failures: [] });
  });

  it('cancels calls still in flight when the grace period ends', async () => {
    let held = false;
    await start(createReadiness(), () => {
      held = true;
    });
    const client = echoClient(server!.address);
    clients.push(client);
    const inFlight = unary(client, { text: 'stuck' }).catch((e: grpc.ServiceError) => e.code);
    await expect.poll(() => held).toBe(true);
    const grace = new AbortController();
    const drained = drainableGrpcServer(server!.server).drain(grace.signal);
    grace.abort();
    await drained;
    expect([grpc.status.CANCELLED, grpc.status.UNAVAILABLE]).toContain(await inFlight);
  });
});
