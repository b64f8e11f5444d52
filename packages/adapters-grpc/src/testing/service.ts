// A small test service with JSON messages, real servers on 127.0.0.1:0 and clients for them.
import * as grpc from '@grpc/grpc-js';

export interface Echo {
  text: string;
  n?: number;
  [key: string]: unknown;
}

const json = {
  requestSerialize: (value: Echo) => Buffer.from(JSON.stringify(value)),
  requestDeserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as Echo,
  responseSerialize: (value: Echo) => Buffer.from(JSON.stringify(value)),
  responseDeserialize: (bytes: Buffer) => JSON.parse(bytes.toString()) as Echo,
};

/** `test.Echo`: Unary, ServerStream, ClientStream, Bidi, all on JSON messages. */
export const EchoService = {
  unary: {
    path: '/test.Echo/Unary',
    requestStream: false,
    responseStream: false,
    originalName: 'unary',
    ...json,
  },
  serverStream: {
    path: '/test.Echo/ServerStream',
    requestStream: false,
    responseStream: true,
    originalName: 'serverStream',
    ...json,
  },
  clientStream: {
    path: '/test.Echo/ClientStream',
    requestStream: true,
    responseStream: false,
    originalName: 'clientStream',
    ...json,
  },
  bidi: { path: '/test.Echo/Bidi', requestStream: true, responseStream: true, originalName: 'bidi', ...json },
} satisfies grpc.ServiceDefinition;

/** The client class of {@link EchoService}. */
export const EchoClient = grpc.makeGenericClientConstructor(EchoService, 'test.Echo');

export interface EchoClientApi extends grpc.Client {
  unary(
    request: Echo,
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: Echo) => void,
  ): grpc.ClientUnaryCall;
  serverStream(
    request: Echo,
    metadata?: grpc.Metadata,
    options?: grpc.CallOptions,
  ): grpc.ClientReadableStream<Echo>;
  clientStream(
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (error: grpc.ServiceError | null, response?: Echo) => void,
  ): grpc.ClientWritableStream<Echo>;
  bidi(metadata?: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<Echo, Echo>;
}

/** A started server and its address. */
export interface TestServer {
  readonly server: grpc.Server;
  readonly port: number;
  readonly address: string;
  /** Stops at once, cancelling calls in flight. */
  close(): void;
}

/** Starts `server` on 127.0.0.1:0 with `implementation` of the echo service (or a service of yours). */
export async function listen(
  server: grpc.Server,
  implementation: grpc.UntypedServiceImplementation,
  definition: grpc.ServiceDefinition = EchoService,
): Promise<TestServer> {
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { server, port, address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

/** An echo client for `address` with `interceptors` (and any other client options). */
export function echoClient(address: string, options: grpc.ClientOptions = {}): EchoClientApi {
  return new EchoClient(address, grpc.credentials.createInsecure(), options) as unknown as EchoClientApi;
}

/** One unary call as a promise; rejects with the grpc-js `ServiceError`. */
export function unary(
  client: EchoClientApi,
  request: Echo,
  options: grpc.CallOptions = {},
  metadata = new grpc.Metadata(),
): Promise<Echo> {
  return new Promise((resolve, reject) => {
    client.unary(request, metadata, options, (error, response) =>
      error ? reject(error) : resolve(response!),
    );
  });
}

/** The status of a rejected call (its `code`), or 'OK'. */
export async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return grpc.status.OK;
  } catch (error) {
    return (error as grpc.ServiceError).code;
  }
}

/** The count of one series of a duration histogram in `metricsText`, 0 when absent. */
export async function histogramCount(
  metrics: { metricsText(): Promise<{ body: string }> },
  name: string,
  labels: Record<string, string>,
): Promise<number> {
  const text = (await metrics.metricsText()).body;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}_count{`) && wanted.every((w) => l.includes(w)));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}
