import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the test server saw of one request. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A loopback server on port 0 that records every request; `respond` answers the n-th (from 1). */
export interface TestServer {
  readonly url: string;
  readonly requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

export type Responder = (req: IncomingMessage, res: ServerResponse, n: number, body: string) => void;

/** Starts a server on 127.0.0.1:0. */
export async function testServer(respond: Responder = (_req, res) => res.end('ok')): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      respond(req, res, requests.length, body);
    });
  });
  const state: TestServer = {
    url: '',
    requests,
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => {
    state.connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (state as { url: string }).url = `http://127.0.0.1:${port}`;
  return state;
}

/** Answers with `status`, optional headers and body. */
/** The URL of a server that was started and closed again: connections to it are refused. */
export async function refusedUrl(): Promise<string> {
  const server = await testServer();
  await server.close();
  return server.url;
}

export function answer(
  res: ServerResponse,
  status: number,
  body = '',
  headers: Record<string, string | number> = {},
): void {
  res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
