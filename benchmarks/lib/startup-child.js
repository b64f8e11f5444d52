// One service of benchmarks/startup.js, started from nothing in its own process: `bare` (Express), `keel`
// (Express + startTelemetry() + keel()) or `otel` (Express under OpenTelemetry's NodeSDK with the http and
// express instrumentations, a prom-client histogram and pino-http: the stack doing the same work). It tells
// the parent its port over IPC, serves one request and reports its peak resident set size; the parent
// times process start to that first response.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const variant = process.argv[2];
let telemetry;
let express;
const middleware = [];
if (variant === 'keel') {
  ({ default: express } = await import('express'));
  const { startTelemetry } = await import('@keel/telemetry');
  const { keel } = await import('@keel/express');
  telemetry = startTelemetry({ serviceName: 'startup' });
  middleware.push(keel({ telemetry }));
} else if (variant === 'otel') {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const { HttpInstrumentation } = await import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation } = await import('@opentelemetry/instrumentation-express');
  const sdk = new NodeSDK({
    serviceName: 'startup',
    instrumentations: [new HttpInstrumentation(), new ExpressInstrumentation()],
  });
  sdk.start();
  telemetry = sdk;
  // The instrumentations patch through require: express is required after sdk.start(), as a CommonJS
  // service (or one run with the ESM loader hook) gets it.
  express = require('express');
  if (express.application.use.__wrapped !== true) throw new Error('otel: express was not patched');
  const { Histogram } = await import('prom-client');
  const { default: pinoHttp } = await import('pino-http');
  const histogram = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP server requests.',
    labelNames: ['http_request_method', 'http_route', 'http_response_status_code'],
  });
  middleware.push(pinoHttp(), (req, res, next) => {
    const stop = histogram.startTimer({ http_request_method: req.method });
    res.on('finish', () =>
      stop({ http_route: req.route?.path ?? '', http_response_status_code: res.statusCode }),
    );
    next();
  });
} else {
  ({ default: express } = await import('express'));
}
const app = express();
for (const m of middleware) app.use(m);
app.get('/orders/:id', (req, res) => {
  res.once('finish', () => {
    // maxRSS is in KiB.
    process.send({ peakRssBytes: process.resourceUsage().maxRSS * 1024 }, () => {
      server.close();
      // The OpenTelemetry contender's OTLP exporter finds no collector and would retry for seconds: the
      // measurement is over, so give shutdown half a second.
      const shutdown = telemetry?.shutdown().catch(() => {});
      Promise.race([shutdown, new Promise((resolve) => setTimeout(resolve, 500))]).then(() =>
        process.exit(0),
      );
    });
  });
  res.json({ id: req.params.id, status: 'shipped' });
});
const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
