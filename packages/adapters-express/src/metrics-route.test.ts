import express from 'express';
import { describe, expect, it } from 'vitest';
import { keel } from './keel.js';
import { metricsRoute } from './metrics-route.js';
import { useHarness } from './testing/harness.js';

const fixture = useHarness();

async function metricsApp(): Promise<string> {
  const app = express();
  app.use(keel({ telemetry: fixture.h.telemetry }));
  app.get('/orders/:id', (_req, res) => {
    res.sendStatus(204);
  });
  app.get('/metrics', metricsRoute(fixture.h.telemetry));
  const served = await fixture.serve(app);
  await fetch(`${served.url}/orders/1`);
  await fixture.h.serverSpans();
  return `${served.url}/metrics`;
}

describe('metricsRoute', () => {
  it('serves Prometheus text with its content type, including the request histogram', async () => {
    const res = await fetch(await metricsApp());
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toMatch(
      /http_server_request_duration_seconds_count\{[^}]*http_route="\/orders\/:id"/,
    );
  });

  it('serves OpenMetrics with trace exemplars when the scraper asks for it', async () => {
    const res = await fetch(await metricsApp(), {
      headers: { accept: 'application/openmetrics-text; version=1.0.0' },
    });
    const body = await res.text();
    expect(res.headers.get('content-type')).toMatch(/^application\/openmetrics-text/);
    expect(body).toMatch(/# \{trace_id="[0-9a-f]{32}"\}/);
    expect(body.trimEnd().endsWith('# EOF')).toBe(true);
  });

  it('rejects something that is not a telemetry handle with a TypeError naming the argument', () => {
    expect(() => metricsRoute({} as never)).toThrow(
      'metricsRoute: argument telemetry must be a Telemetry handle (from startTelemetry() or currentTelemetry()), received an object',
    );
  });
});
