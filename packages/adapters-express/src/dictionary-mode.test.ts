// keel() turns each request and response into a dictionary-mode object (see toDictionary in
// internal/request-state.ts): worth about a tenth of bare Express's throughput in benchmarks/. Nothing
// else observes it, so this guards it with V8's own answer, in a child process run with
// --allow-natives-syntax on the built package (`npm test` builds before it tests).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const SCRIPT = `
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import express from 'express';
import { keel } from '@keel/express';
import { startTelemetry } from '@keel/telemetry';

class NullSocket extends Duplex {
  _read() {}
  _write(_chunk, _encoding, done) { done(); }
}
const telemetry = startTelemetry({ serviceName: 'dictionary', spanProcessors: [], processMetrics: false, traceStore: false, logger: (await import('pino')).default({ enabled: false }) });
const socket = new NullSocket();
const seen = {};
for (const withKeel of [false, true]) {
  const app = express();
  if (withKeel) app.use(keel({ telemetry }));
  app.get('/orders/:id', (req, res) => {
    seen[withKeel ? 'keel' : 'bare'] = { request: %HasFastProperties(req), response: %HasFastProperties(res) };
    res.json({ id: req.params.id });
  });
  // Twice: an app's first request is routed before keel() extends the app's prototypes.
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => {
      const req = new IncomingMessage(socket);
      req.method = 'GET';
      req.url = '/orders/7';
      req.headers = { host: 'localhost' };
      req.push(null);
      const res = new ServerResponse(req);
      res.assignSocket(socket);
      res.on('finish', () => {
        res.detachSocket(socket);
        resolve();
      });
      app(req, res);
    });
  }
}
await telemetry.shutdown();
process.stdout.write(JSON.stringify(seen));
`;

it('leaves the request and the response of a keel() app in dictionary mode, where bare Express keeps them fast', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--allow-natives-syntax', '--input-type=module', '-e', SCRIPT],
    { cwd: import.meta.dirname },
  );
  expect(JSON.parse(stdout)).toEqual({
    bare: { request: true, response: true },
    keel: { request: false, response: false },
  });
});
