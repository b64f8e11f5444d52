// The W3C Trace Context harness's test service on PORT (default 5000); see README.md.
import { startTelemetry } from '@keel/telemetry';
import { createApp } from './app.js';

const port = Number(process.env.PORT ?? 5000);
const host = process.env.HOST ?? '127.0.0.1';
// Spans need somewhere to go for the SDK to make them: OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, else the
// bounded local trace store. With neither, no span is made and the caller's parent-id would be sent on as is.
const telemetry = startTelemetry({ serviceName: 'trace-context-service' });
const service = createApp({ telemetry });
const server = service.app.listen(port, host, () => {
  telemetry.logger.info({ url: `http://${host}:${port}/test` }, 'trace-context test service listening');
});

async function stop(): Promise<void> {
  server.close();
  server.closeAllConnections();
  await service.close();
  await telemetry.shutdown();
}

process.once('SIGINT', stop);
process.once('SIGTERM', stop);
