import express from 'express';
import { describe, expect, it } from 'vitest';
import { keel } from './keel.js';
import { useHarness } from './testing/harness.js';

const fixture = useHarness();

function app(options: Parameters<typeof keel>[0] = {}): express.Express {
  const a = express();
  a.use(keel({ telemetry: fixture.h.telemetry, accessLog: false, ...options }));
  const users = express.Router();
  users.get('/:id', (_req, res) => {
    res.send('ok');
  });
  a.use('/users', users);
  return a;
}

describe('keel() server span attributes (stable HTTP semantic conventions)', () => {
  it('carries url.path as received, even under a mounted router, and the route template beside it', async () => {
    const { url } = await fixture.serve(app());
    await (
      await fetch(`${url}/users/u-8c1f2a?token=abc`, { headers: { 'user-agent': 'checkout/1.2' } })
    ).text();
    const [span] = await fixture.h.serverSpans();
    const port = Number(new URL(url).port);
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/users/:id',
      'url.path': '/users/u-8c1f2a',
      'url.scheme': 'http',
      'server.address': '127.0.0.1',
      'server.port': port,
      'network.protocol.version': '1.1',
      'client.address': '127.0.0.1',
      'user_agent.original': 'checkout/1.2',
    });
    expect(span?.attributes['url.query']).toBeUndefined();
  });

  it('records the query with recordQuery, the values of sensitive keys redacted', async () => {
    const { url } = await fixture.serve(app({ recordQuery: true }));
    await (await fetch(`${url}/users/7?expand=orders&access_token=abc`)).text();
    const [span] = await fixture.h.serverSpans();
    expect(span?.attributes['url.query']).toBe('expand=orders&access_token=REDACTED');
  });

  it('keeps the raw path out of every metric label', async () => {
    const { url } = await fixture.serve(app());
    await (await fetch(`${url}/users/u-8c1f2a`)).text();
    await fixture.h.serverSpans();
    const { body } = await fixture.h.telemetry.metrics.metricsText();
    expect(body).toContain('http_route="/users/:id"');
    expect(body).not.toContain('u-8c1f2a');
  });

  it('rejects a recordQuery that is not a boolean, naming the option', () => {
    expect(() => keel({ recordQuery: 'yes' as never })).toThrow(/recordQuery/);
  });
});
