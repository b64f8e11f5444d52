import {
  type Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import { checkNumber, checkOptions, invalidOption } from '@keel/resilience/adapter';
import type { Readiness } from '@keel/telemetry/adapter';

/** The standard health service's statuses (`grpc.health.v1.HealthCheckResponse.ServingStatus`). */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';
const STATUS_NUMBER: Readonly<Record<ServingStatus, number>> = {
  UNKNOWN: 0,
  SERVING: 1,
  NOT_SERVING: 2,
  SERVICE_UNKNOWN: 3,
};

/**
 * The readiness the health service reports: `@keel/telemetry`'s `createReadiness()` model (the one `/readyz`
 * renders and `gracefulShutdown` turns to stopping), or anything with its `check()`. `onPhase`, when there,
 * pushes phase changes to watchers at once.
 */
export type HealthReadiness = Pick<Readiness, 'check'> & Partial<Pick<Readiness, 'onPhase'>>;

/** Options of {@link addKeelHealth}. */
export interface KeelHealthOptions {
  /** The service's readiness: SERVING while it reports ready, NOT_SERVING otherwise. */
  readiness: HealthReadiness;
  /** Service names answered besides `''` (the whole server), all with the server's status. @default [] */
  services?: readonly string[];
  /** How often a `Watch` stream re-checks readiness, in ms (phase changes are pushed at once). @default 5000 */
  watchIntervalMs?: number;
}

// grpc.health.v1 messages, encoded by hand: one string field in, one enum field out. Small enough that a
// protobuf runtime would be all cost.
function decodeRequest(bytes: Buffer): { service: string } {
  let service = '';
  let i = 0;
  while (i < bytes.length) {
    const tag = bytes[i++]!;
    const wire = tag & 7;
    let length = 0;
    let shift = 0;
    if (wire === 0) {
      while (i < bytes.length && bytes[i++]! & 0x80);
      continue;
    }
    if (wire !== 2) throw new Error('unsupported wire type');
    for (;;) {
      const b = bytes[i++];
      if (b === undefined || shift > 28) throw new Error('truncated length');
      length |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
    }
    if (i + length > bytes.length) throw new Error('truncated field');
    if (tag >> 3 === 1) service = bytes.toString('utf8', i, i + length);
    i += length;
  }
  return { service };
}

function encodeRequest(request: { service?: string }): Buffer {
  const name = Buffer.from(request.service ?? '', 'utf8');
  if (name.length === 0) return Buffer.alloc(0);
  const length: number[] = [];
  for (let n = name.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x0a, ...length]), name]);
}

function encodeResponse(response: { status: ServingStatus }): Buffer {
  const value = STATUS_NUMBER[response.status];
  return value === 0 ? Buffer.alloc(0) : Buffer.from([0x08, value]);
}

function decodeResponse(bytes: Buffer): { status: ServingStatus } {
  const value = bytes.length >= 2 && bytes[0] === 0x08 ? bytes[1] : 0;
  const found = (Object.keys(STATUS_NUMBER) as ServingStatus[]).find((k) => STATUS_NUMBER[k] === value);
  return { status: found ?? 'UNKNOWN' };
}

/** `grpc.health.v1.Health`, for `server.addService` or `makeGenericClientConstructor`. */
export const HealthService = {
  check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    originalName: 'check',
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
  watch: {
    path: '/grpc.health.v1.Health/Watch',
    requestStream: false,
    responseStream: true,
    originalName: 'watch',
    requestSerialize: encodeRequest,
    requestDeserialize: decodeRequest,
    responseSerialize: encodeResponse,
    responseDeserialize: decodeResponse,
  },
} satisfies ServiceDefinition;

const KNOWN = ['readiness', 'services', 'watchIntervalMs'] as const;

/**
 * Adds the standard `grpc.health.v1.Health` service to `server`, reporting the same readiness as
 * `/readyz`: SERVING while ready, NOT_SERVING while starting, stopping (graceful shutdown) or while a
 * dependency marked required has its circuit open. `Check` asks readiness afresh; `Watch` streams each
 * change. An unknown service name is NOT_FOUND on `Check` and SERVICE_UNKNOWN on `Watch`, as the spec says.
 *
 * @example
 * addKeelHealth(server, { readiness });
 */
export function addKeelHealth(server: Server, options: KeelHealthOptions): void {
  const owner = 'addKeelHealth';
  if (typeof (server as Server | undefined)?.addService !== 'function') {
    invalidOption(owner, 'argument server', 'a grpc-js Server', server);
  }
  const given = checkOptions(owner, options, KNOWN) as unknown as KeelHealthOptions;
  const readiness = given.readiness;
  if (typeof (readiness as HealthReadiness | undefined)?.check !== 'function') {
    invalidOption(owner, 'readiness', 'a readiness model with check()', readiness);
  }
  const extra = given.services ?? [];
  if (!Array.isArray(extra) || extra.some((s) => typeof s !== 'string')) {
    invalidOption(owner, 'services', 'an array of service names', extra);
  }
  const known = new Set(['', ...extra]);
  const intervalMs =
    given.watchIntervalMs === undefined
      ? 5_000
      : checkNumber(owner, 'watchIntervalMs', given.watchIntervalMs, 10, 3_600_000);

  const current = async (): Promise<ServingStatus> => {
    try {
      return (await readiness.check()).status === 'ready' ? 'SERVING' : 'NOT_SERVING';
    } catch {
      return 'NOT_SERVING';
    }
  };

  server.addService(HealthService, {
    check(call: ServerUnaryCall<{ service: string }, unknown>, callback: sendUnaryData<unknown>) {
      if (!known.has(call.request.service)) {
        callback({ code: status.NOT_FOUND, details: 'unknown service' });
        return;
      }
      current().then((serving) => callback(null, { status: serving }));
    },
    watch(call: ServerWritableStream<{ service: string }, unknown>) {
      if (!known.has(call.request.service)) {
        call.write({ status: 'SERVICE_UNKNOWN' });
        return;
      }
      let last: ServingStatus | undefined;
      let stopped = false;
      const send = () => {
        if (stopped) return;
        current().then((serving) => {
          if (stopped || serving === last) return;
          last = serving;
          call.write({ status: serving });
        });
      };
      const timer = setInterval(send, intervalMs);
      timer.unref();
      const unsubscribe = readiness.onPhase?.(send);
      const stop = () => {
        stopped = true;
        clearInterval(timer);
        unsubscribe?.();
      };
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
      send();
    },
  });
}
