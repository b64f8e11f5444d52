// What a default startTelemetry() loads, seen from a child process on the built package (`npm test` builds
// before it tests): module.registerHooks records every module resolved, so an exporter, a protobuf or gRPC
// stack or the full Node SDK loaded without the configuration selecting it shows up by name.
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const MARKER = '--- modules ---';

const SCRIPT = `
import { registerHooks } from 'node:module';
const MARKER = ${JSON.stringify(MARKER)};
const loaded = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    loaded.add(result.url);
    return result;
  },
});
const { startTelemetry } = await import('@keel/telemetry');
const telemetry = startTelemetry({
  serviceName: 'cold',
  processMetrics: false,
  shutdownTimeoutMs: 2000,
  ...(process.env.ENDPOINT ? { otlpEndpoint: process.env.ENDPOINT } : {}),
});
telemetry.tracer.startSpan('GET /orders/:id').end();
const atStart = [...loaded];
await telemetry.forceFlush();
const afterExport = [...loaded];
await telemetry.shutdown();
// After a marker line: an exporter the environment selects (console) writes to stdout too.
process.stdout.write('\\n' + MARKER + JSON.stringify({ atStart, afterExport }));
`;

/** The package names among module URLs, e.g. `@opentelemetry/sdk-trace`, `protobufjs`. */
function packages(urls: string[]): string[] {
  const names = urls.flatMap((url) => {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    return match?.[1] === undefined ? [] : [match[1]];
  });
  return [...new Set(names)].sort();
}

interface Run {
  atStart: string[];
  afterExport: string[];
  /** What the child wrote to stdout before its module list. */
  output: string;
}

async function run(env: Record<string, string> = {}): Promise<Run> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_')));
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', SCRIPT], {
    cwd: import.meta.dirname,
    env: { ...clean, ...env },
  });
  const at = stdout.lastIndexOf(MARKER);
  const result = JSON.parse(stdout.slice(at + MARKER.length)) as { atStart: string[]; afterExport: string[] };
  return {
    atStart: packages(result.atStart),
    afterExport: packages(result.afterExport),
    output: stdout.slice(0, at),
  };
}

const UNSELECTED =
  /exporter|sdk-node|sdk-metrics|sdk-logs|grpc|protobufjs|otlp|propagator-b3|instrumentation/;

describe('a cold start', () => {
  it('loads the trace SDK and no exporter, protobuf, gRPC or full Node SDK when no collector is configured', async () => {
    const { atStart, afterExport } = await run();
    expect(atStart).toContain('@opentelemetry/sdk-trace');
    expect(afterExport).not.toContain('@opentelemetry/sdk-node');
    expect(afterExport.filter((name) => UNSELECTED.test(name))).toEqual([]);
  });

  it('loads the OTLP/HTTP protobuf exporter only once spans are exported to a configured collector', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const { port } = server.address() as AddressInfo;
      const { atStart, afterExport } = await run({ ENDPOINT: `http://127.0.0.1:${port}` });
      expect(atStart.filter((name) => UNSELECTED.test(name))).toEqual([]);
      expect(afterExport).toContain('@opentelemetry/exporter-trace-otlp-proto');
      expect(afterExport.filter((name) => /sdk-node|grpc|sdk-logs/.test(name))).toEqual([]);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('loads the Node SDK at start when OTEL_TRACES_EXPORTER selects an exporter, and spans reach that exporter', async () => {
    const { atStart, output } = await run({ OTEL_TRACES_EXPORTER: 'console' });
    expect(atStart).toContain('@opentelemetry/sdk-node');
    expect(output).toContain("name: 'GET /orders/:id'");
    expect(output).toContain("'service.name': 'cold'");
  });
});
