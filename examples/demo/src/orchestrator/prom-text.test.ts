import { describe, expect, it } from 'vitest';
import { buckets, parsePrometheusText, quantileBetween, sum } from './prom-text.js';

const before = `# HELP http_server_request_duration_seconds Duration of HTTP server requests.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{le="0.01",http_route="/orders",http_response_status_code="201"} 10
http_server_request_duration_seconds_bucket{le="0.1",http_route="/orders",http_response_status_code="201"} 10
http_server_request_duration_seconds_bucket{le="+Inf",http_route="/orders",http_response_status_code="201"} 10
http_server_request_duration_seconds_count{http_route="/orders",http_response_status_code="201"} 10
`;
const after = `http_server_request_duration_seconds_bucket{le="0.01",http_route="/orders",http_response_status_code="201"} 20
http_server_request_duration_seconds_bucket{le="0.1",http_route="/orders",http_response_status_code="201"} 110
http_server_request_duration_seconds_bucket{le="+Inf",http_route="/orders",http_response_status_code="201"} 110
http_server_request_duration_seconds_count{http_route="/orders",http_response_status_code="201"} 110
http_server_request_duration_seconds_count{http_route="/orders",http_response_status_code="503"} 7
resilience_events_total{pipeline="payments",policy="retry",event="retry",note="a \\"quoted\\" value"} 3
`;

describe('the Prometheus text reader', () => {
  it('reads names, labels (escapes included) and values, skipping comments', () => {
    const samples = parsePrometheusText(after);
    expect(samples).toHaveLength(6);
    expect(samples.at(-1)).toEqual({
      name: 'resilience_events_total',
      labels: { pipeline: 'payments', policy: 'retry', event: 'retry', note: 'a "quoted" value' },
      value: 3,
    });
  });

  it('sums the series that match exact values and predicates', () => {
    const samples = parsePrometheusText(after);
    expect(sum(samples, 'http_server_request_duration_seconds_count')).toBe(117);
    expect(
      sum(samples, 'http_server_request_duration_seconds_count', {
        http_response_status_code: (code) => Number(code) >= 500,
      }),
    ).toBe(7);
    expect(sum(samples, 'http_server_request_duration_seconds_count', { error_type: '' })).toBe(117);
  });

  it('interpolates a quantile of the observations between two scrapes inside its bucket', () => {
    const family = 'http_server_request_duration_seconds';
    const a = buckets(parsePrometheusText(before), family);
    const b = buckets(parsePrometheusText(after), family);
    // 100 new observations: 10 under 10 ms, 90 between 10 and 100 ms; the 95th is 85/90 of that bucket.
    expect(quantileBetween(a, b, 0.95)).toBeCloseTo(0.01 + (0.09 * 85) / 90, 6);
    expect(quantileBetween(b, b, 0.95)).toBeUndefined();
  });
});
