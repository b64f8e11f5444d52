import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createMetrics } from './create-metrics.js';

const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

function recordSampled(metrics: ReturnType<typeof createMetrics>, traceId: string | undefined): void {
  metrics.httpServerDuration.record(
    { http_request_method: 'GET', http_route: '/users/:id', http_response_status_code: 200 },
    0.3,
    traceId,
  );
  metrics.messagingConsumed.increment(
    { messaging_system: 'rabbitmq', messaging_destination_name: 'orders' },
    traceId,
  );
}

describe('metricsText', () => {
  it('serves Prometheus text 0.0.4 when the scraper does not ask for OpenMetrics', async () => {
    const { contentType, body } = await createMetrics().metricsText('text/plain');
    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(body).not.toContain('# EOF');
  });

  it('serves OpenMetrics 1.0 ending in # EOF when the scraper asks for it', async () => {
    const { contentType, body } = await createMetrics().metricsText(OPENMETRICS);
    expect(contentType).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(body.endsWith('\n# EOF\n')).toBe(true);
  });

  it('attaches the trace id as an exemplar to the bucket and the counter in OpenMetrics', async () => {
    const metrics = createMetrics();
    recordSampled(metrics, TRACE_ID);
    const { body } = await metrics.metricsText(OPENMETRICS);
    expect(body).toMatch(
      /^http_server_request_duration_seconds_bucket\{le="0\.5",[^}]*\} 1 # \{trace_id="0af7651916cd43dd8448eb211c80319c"\} 0\.3 \d+(\.\d+)?$/m,
    );
    expect(body).toMatch(
      /^messaging_client_consumed_messages_total\{[^}]*\} 1 # \{trace_id="0af7651916cd43dd8448eb211c80319c"\} 1 \d+(\.\d+)?$/m,
    );
  });

  it('leaves exemplars out of the plain text format', async () => {
    const metrics = createMetrics();
    recordSampled(metrics, TRACE_ID);
    const { body } = await metrics.metricsText();
    expect(body).toContain('http_server_request_duration_seconds_count');
    expect(body).not.toContain('trace_id');
    expect(body).not.toContain(' # ');
  });

  it('attaches no exemplar when no sampled trace id is given', async () => {
    const metrics = createMetrics();
    recordSampled(metrics, undefined);
    expect((await metrics.metricsText(OPENMETRICS)).body).not.toContain('trace_id');
  });

  it('ignores a trace id that is not 32 lowercase hex digits instead of throwing', async () => {
    const metrics = createMetrics();
    recordSampled(metrics, 'x'.repeat(200));
    recordSampled(metrics, '00000000000000000000000000000000');
    expect((await metrics.metricsText(OPENMETRICS)).body).not.toContain('trace_id');
  });

  it('names counter samples with _total in both formats', async () => {
    const metrics = createMetrics();
    recordSampled(metrics, undefined);
    const plain = (await metrics.metricsText()).body;
    const open = (await metrics.metricsText(OPENMETRICS)).body;
    expect(plain).toContain('# TYPE messaging_client_consumed_messages_total counter');
    expect(open).toContain('# TYPE messaging_client_consumed_messages counter');
    for (const body of [plain, open, (await metrics.metricsText()).body]) {
      expect(body).toMatch(/^messaging_client_consumed_messages_total\{/m);
    }
  });

  it('renders le as a canonical float so both formats store the same series', async () => {
    const metrics = createMetrics();
    recordSampled(metrics, undefined);
    for (const accept of [undefined, OPENMETRICS]) {
      const { body } = await metrics.metricsText(accept);
      expect(body).toContain('http_server_request_duration_seconds_bucket{le="1.0",');
      expect(body).toContain('http_server_request_duration_seconds_bucket{le="+Inf",');
    }
  });

  it('escapes quotes and backslashes in label values', async () => {
    const metrics = createMetrics();
    metrics.messagingSent.increment({ messaging_destination_name: 'a"b\\c\nd' });
    const { body } = await metrics.metricsText();
    expect(body).toContain(
      'messaging_client_sent_messages_total{messaging_destination_name="a\\"b\\\\cd"} 1',
    );
  });

  it('renders metrics the application registered in the same registry', async () => {
    const registry = new Registry();
    const jobs = new Counter({ name: 'jobs_total', help: 'Jobs.', registers: [registry] });
    jobs.inc(3);
    const { body } = await createMetrics({ registry }).metricsText(OPENMETRICS);
    expect(body).toContain('# TYPE jobs counter\n# HELP jobs Jobs.\njobs_total 3\n');
  });
});
