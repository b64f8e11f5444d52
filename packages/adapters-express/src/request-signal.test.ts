import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpClient } from '@keel/http';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { keelErrorHandler } from './error-handler.js';
import { keel } from './keel.js';
import { requestSignal } from './request-signal.js';
import { eventually, leaveEarly, slowRoute, useHarness } from './testing/harness.js';

const fixture = useHarness();

function app(): express.Express {
  const a = express();
  a.use(keel({ telemetry: fixture.h.telemetry }));
  return a;
}

async function start(a: express.Express): Promise<string> {
  a.use(keelErrorHandler());
  return (await fixture.serve(a)).url;
}

describe('requestSignal(req)', () => {
  it('aborts with KEEL_ERR_CANCELLED when the client goes away before the response', async () => {
    const a = app();
    const slow = slowRoute(a, requestSignal, (req, signal) => {
      expect(requestSignal(req)).toBe(signal);
    });
    await leaveEarly(await start(a), slow.arrived);
    await eventually(() => slow.reason() !== undefined);
    expect(slow.reason()).toMatchObject({ code: 'KEEL_ERR_CANCELLED' });
  });

  it('cancels the outbound call it is passed to: the downstream server sees the connection close', async () => {
    const closed: string[] = [];
    let downstream: Server | undefined;
    downstream = createServer((req, res) => {
      res.once('close', () => closed.push(req.url ?? ''));
    });
    await new Promise<void>((resolve) => downstream!.listen(0, '127.0.0.1', resolve));
    const { port } = downstream.address() as AddressInfo;
    const quotes = httpClient({ name: 'quotes', baseUrl: `http://127.0.0.1:${port}`, retry: false });
    try {
      const a = app();
      let arrived!: () => void;
      const ran = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      a.get('/slow', async (req, res, next) => {
        arrived();
        try {
          res.json(await (await quotes.get('/quote', { signal: requestSignal(req) })).json());
        } catch (error) {
          next(error);
        }
      });
      await leaveEarly(await start(a), ran);
      await eventually(() => closed.length === 1);
      expect(closed).toEqual(['/quote']);
      const [span] = await fixture.h.serverSpans();
      expect(span?.attributes['http.response.status_code']).toBe(499);
    } finally {
      await quotes.close();
      downstream.closeAllConnections();
      await new Promise((resolve) => downstream!.close(resolve));
      downstream = undefined;
    }
  });

  it('never aborts once the response has finished', async () => {
    const a = app();
    let signal: AbortSignal | undefined;
    a.get('/x', (req, res) => {
      signal = requestSignal(req);
      res.sendStatus(204);
    });
    const url = await start(a);
    expect((await fetch(`${url}/x`)).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(signal?.aborted).toBe(false);
  });

  it('throws a TypeError for a request keel() did not handle', async () => {
    const a = express();
    let error: unknown;
    a.get('/x', (req, res) => {
      try {
        requestSignal(req);
      } catch (e) {
        error = e;
      }
      res.sendStatus(204);
    });
    a.use(keel({ telemetry: fixture.h.telemetry }));
    const url = await start(a);
    await fetch(`${url}/x`);
    expect(error).toBeInstanceOf(TypeError);
    expect(String(error)).toMatch(/keel\(\) did not handle this request/);
  });
});
