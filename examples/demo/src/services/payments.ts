// payments: a plain node:http service behind keelHandler whose behaviour the orchestrator sets per phase.

import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { keelHandler } from '@keel/http';
import type { Phase } from '../protocol.js';
import { listen, portOf, startService } from './runtime.js';

const runtime = await startService();
let phase: Phase = 'healthy';
runtime.onPhase((next) => {
  phase = next;
});

const between = (min: number, max: number): number => min + Math.random() * (max - min);

/** How a charge is answered in the current phase: after how long, and with which status. */
function behaviour(): { delayMs: number; status: number } {
  if (phase === 'outage') return { delayMs: between(1, 3), status: 503 };
  if (phase === 'degraded') {
    const roll = Math.random();
    if (roll < 0.3) return { delayMs: between(5, 20), status: 503 }; // transient
    if (roll < 0.36) return { delayMs: between(400, 800), status: 200 }; // slower than orders waits
  }
  return { delayMs: between(5, 20), status: 200 };
}

const server = createServer(
  keelHandler(
    async (req, res) => {
      if (req.method !== 'POST' || req.url !== '/charges') {
        res.writeHead(404).end();
        return;
      }
      for await (const _chunk of req) {
        // The body is read and ignored: the demo charges nothing real.
      }
      const { delayMs, status } = behaviour();
      await sleep(delayMs);
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? '{"charged":true}' : '{"error":"payments unavailable"}');
    },
    { route: () => '/charges' },
  ),
);
await listen(server, 0);
await runtime.ready({ port: portOf(server), drain: [server] });
