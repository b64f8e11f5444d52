import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Closable,
  type Drainable,
  gracefulShutdown,
  type HttpServerLike,
  type Readiness,
  startTelemetry,
  type Telemetry,
} from '@keel/telemetry';
import {
  type ChildMessage,
  CONFIG_ENV,
  type ParentMessage,
  type Phase,
  type ServiceConfig,
} from '../protocol.js';
import { ipcSpanForwarder } from './span-forwarder.js';

/** What every service process shares: its config, its telemetry, and the way it reports and stops. */
export interface Runtime {
  readonly config: ServiceConfig;
  readonly telemetry: Telemetry;
  /** Called with each phase the orchestrator announces. */
  onPhase(listener: (phase: Phase) => void): void;
  /** Arms the shutdown sequence and tells the orchestrator the service is up. */
  ready(options: ReadyOptions): Promise<void>;
}

export interface ReadyOptions {
  /** The port of the service's own listener, reported to the orchestrator. */
  readonly port?: number;
  readonly readiness?: Readiness;
  readonly drain?: (HttpServerLike | Drainable)[];
  readonly close?: (Closable | (() => unknown))[];
}

/** The address a listening server is bound to. */
export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export function listen(server: Server, port: number, host = '127.0.0.1'): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function send(message: ChildMessage): void {
  if (process.connected) process.send?.(message);
}

/**
 * Starts a service process: `/metrics` on its port, telemetry with quiet logs (warn and above, to stdout,
 * which the orchestrator keeps out of the terminal), finished spans forwarded to the orchestrator, and an
 * exit as soon as the orchestrator's IPC channel goes away, so no service outlives it.
 */
export async function startService(): Promise<Runtime> {
  const raw = process.env[CONFIG_ENV];
  if (raw === undefined) throw new Error(`${CONFIG_ENV} is not set: start the demo with \`npm run demo\``);
  const config = JSON.parse(raw) as ServiceConfig;
  // A collector chosen through OTEL_TRACES_EXPORTER takes no extra processor (see @keel/telemetry).
  const envExporter =
    (process.env.OTEL_TRACES_EXPORTER ?? 'none') !== 'none' && process.env.OTEL_TRACES_EXPORTER !== '';
  const telemetry = startTelemetry({
    serviceName: config.service,
    logLevel: process.env.LOG_LEVEL ?? 'warn',
    traceStore: false,
    ...(envExporter ? {} : { spanProcessors: [ipcSpanForwarder(config.service)] }),
  });
  const phaseListeners: ((phase: Phase) => void)[] = [];
  let stop: ((reason: string) => void) | undefined;
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'phase') for (const listener of phaseListeners) listener(message.phase);
    else if (message.type === 'stop') stop?.('stopped by the orchestrator');
  });
  // The IPC channel alone must not keep the service alive: once the shutdown sequence has closed
  // everything, the process exits by itself.
  process.channel?.unref();
  // Ctrl-C reaches the whole process group: the orchestrator decides how its services stop.
  process.on('SIGINT', () => {});
  process.on('disconnect', () => {
    // The orchestrator is gone (even SIGKILLed): stop, and never linger past a few seconds.
    setTimeout(() => process.exit(1), 5_000).unref();
    if (stop === undefined) process.exit(1);
    stop('orchestrator gone');
  });

  // /metrics listens first: a port already taken stops the service before it declares anything on the broker.
  const metrics = createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    telemetry.scrape(req.headers.accept).then(
      ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  await listen(metrics, config.metricsPort, config.metricsHost).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRINUSE') throw error;
    process.stderr.write(
      `${config.service}: port ${config.metricsPort} for /metrics is in use; pick another --metrics-port-base\n`,
    );
    process.exit(1);
  });

  return {
    config,
    telemetry,
    onPhase(listener) {
      phaseListeners.push(listener);
    },
    async ready(options) {
      const shutdown = gracefulShutdown({
        ...(options.readiness === undefined ? {} : { readiness: options.readiness }),
        drain: [...(options.drain ?? []), metrics],
        close: options.close ?? [],
        telemetry,
        signals: ['SIGTERM'],
        gracePeriodMs: 3_000,
        closeTimeoutMs: 2_000,
      });
      stop = (reason) => void shutdown.shutdown(reason);
      send({
        type: 'ready',
        metricsPort: portOf(metrics),
        ...(options.port === undefined ? {} : { port: options.port }),
      });
    },
  };
}
