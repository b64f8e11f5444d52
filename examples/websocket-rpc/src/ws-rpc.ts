import type { Telemetry } from '@keel/telemetry';
import { outcomeStatus, startRpcClient, startRpcServer } from '@keel/telemetry/adapter';
import type { WebSocket, WebSocketServer } from 'ws';

// The carrier: a plain object of header strings inside each JSON message. Only its own string values
// are read, so a message cannot reach Object.prototype through a header name.
type Headers = Record<string, string>;
const getter = {
  get: (h: Headers, key: string) =>
    Object.hasOwn(h, key) && typeof h[key] === 'string' ? h[key] : undefined,
  keys: (h: Headers) => Object.keys(h),
};
const setter = {
  set(h: Headers, key: string, value: string) {
    h[key] = value;
  },
};
const statusOf = (error: unknown) => outcomeStatus(error)?.grpcStatus ?? 'UNKNOWN';

/** Inbound: runs `handle` for each `{ id, method, headers, params }` in the caller's trace, correlation ID and deadline. */
export function serveRpc(
  telemetry: Telemetry,
  wss: WebSocketServer,
  handle: (method: string, params: unknown) => unknown,
) {
  wss.on('connection', (socket) =>
    socket.on('message', (data) => {
      let msg: { id?: unknown; method?: unknown; headers?: unknown; params?: unknown };
      try {
        msg = JSON.parse(String(data));
      } catch {
        return; // not a message of ours: no reply, no span
      }
      const headers = typeof msg.headers === 'object' && msg.headers !== null ? (msg.headers as Headers) : {};
      const method = typeof msg.method === 'string' ? msg.method.slice(0, 64) : 'unknown';
      const op = startRpcServer(telemetry, {
        system: 'websocket',
        service: 'ws',
        method,
        carrier: headers,
        getter,
      });
      op.run(async () => handle(method, msg.params)).then(
        (result) => {
          op.end({ statusCode: 'OK' });
          socket.send(JSON.stringify({ id: msg.id, result }));
        },
        (error: unknown) => {
          op.end({ statusCode: statusOf(error), error });
          socket.send(JSON.stringify({ id: msg.id, error: statusOf(error) }));
        },
      );
    }),
  );
}

/** Outbound: `call(method, params)` sends one message carrying the active trace, correlation ID and deadline. */
export function rpcClient(telemetry: Telemetry, socket: WebSocket, host: string) {
  let nextId = 0;
  const pending = new Map<number, (reply: { result?: unknown; error?: string }) => void>();
  socket.on('message', (data) => {
    const reply = JSON.parse(String(data));
    pending.get(reply.id)?.(reply);
    pending.delete(reply.id);
  });
  return function call(method: string, params?: unknown): Promise<unknown> {
    const op = startRpcClient(telemetry, { system: 'websocket', service: 'ws', method, host });
    const headers: Headers = {};
    op.inject(headers, setter);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, (reply) => {
        op.end({ statusCode: reply.error ?? 'OK' });
        if (reply.error === undefined) resolve(reply.result);
        else reject(new Error(`${method}: ${reply.error}`));
      });
      socket.send(JSON.stringify({ id, method, headers, params }));
    });
  };
}
