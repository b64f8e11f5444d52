import { isIP } from 'node:net';
import { parseArgs } from 'node:util';

/** The demo's command line, validated. */
export interface DemoOptions {
  /** Seconds the load runs for (ignored with `follow`). */
  readonly durationS: number;
  readonly follow: boolean;
  /** Load sent to the gateway, requests per second. */
  readonly rate: number;
  /** First of five consecutive ports for the services' /metrics listeners; undefined picks free ones. */
  readonly metricsPortBase: number | undefined;
  /** Address the five /metrics listeners bind to. */
  readonly metricsHost: string;
  readonly targetsFile: string | undefined;
  readonly summaryJson: string | undefined;
  readonly help: boolean;
}

export const USAGE = `Usage: npm run demo -- [options]   (or: node examples/demo/dist/main.js [options])

Runs gateway → orders → payments, plus inventory and notifications on RabbitMQ, as five processes,
drives load through the gateway and breaks payments in phases: healthy → degraded → outage → recovery.

Options:
  --duration <s>            seconds of load, split over the four phases (default 60, at least 8)
  --follow                  run until Ctrl-C, cycling through the phases
  --rate <n>                requests per second sent to the gateway (default 30)
  --metrics-port-base <n>   serve the five /metrics endpoints on ports n..n+4 instead of free ones
  --metrics-host <ip>       address the /metrics endpoints listen on (default 127.0.0.1; 0.0.0.0 lets a
                            Prometheus in Docker reach them, and anyone else on your network)
  --targets-file <path>     write the services' /metrics addresses as Prometheus file_sd JSON
  --summary-json <path>     also write the summary as JSON
  --help                    show this help

Environment:
  AMQP_URL                       RabbitMQ (default amqp://guest:guest@127.0.0.1:5672); unreachable: the
                                 messaging leg is skipped
  OTEL_EXPORTER_OTLP_ENDPOINT    also export every service's traces over OTLP (Jaeger, a collector)
  NO_COLOR                       no colours`;

/** A command-line mistake, reported as one line with the usage hint. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function integer(flag: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, received "${raw}"`);
  }
  return value;
}

function address(flag: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (isIP(raw) === 0) {
    throw new UsageError(`--${flag} must be an IP address such as 127.0.0.1 or 0.0.0.0, received "${raw}"`);
  }
  return raw;
}

/** Parses and checks the arguments; throws a `UsageError` naming the flag and the value received. */
export function parseOptions(argv: readonly string[]): DemoOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        duration: { type: 'string' },
        follow: { type: 'boolean' },
        rate: { type: 'string' },
        'metrics-port-base': { type: 'string' },
        'metrics-host': { type: 'string' },
        'targets-file': { type: 'string' },
        'summary-json': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const text = (flag: string): string | undefined => {
    const value = values[flag];
    if (value === '') throw new UsageError(`--${flag} needs a value`);
    return value as string | undefined;
  };
  return {
    durationS: integer('duration', text('duration'), 8, 86_400) ?? 60,
    follow: values.follow === true,
    rate: integer('rate', text('rate'), 1, 1_000) ?? 30,
    metricsPortBase: integer('metrics-port-base', text('metrics-port-base'), 1_024, 65_531),
    metricsHost: address('metrics-host', text('metrics-host')) ?? '127.0.0.1',
    targetsFile: text('targets-file'),
    summaryJson: text('summary-json'),
    help: values.help === true,
  };
}
