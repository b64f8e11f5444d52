import { keel, keelErrorHandler } from '@keel/express';
import { httpClient } from '@keel/http';
import type { Telemetry } from '@keel/telemetry';
import express, { type Express, type Request, type Response } from 'express';

/** Options of {@link createApp}. */
export interface CreateAppOptions {
  /** The telemetry to report to. @default currentTelemetry(), looked up per request */
  telemetry?: Telemetry;
}

/** The service and what must be closed with it. */
export interface TraceContextService {
  readonly app: Express;
  /** Closes the outbound client (its connection pool); the HTTP server is yours to close. */
  close(): Promise<void>;
}

/** One callback the harness asks for: a POST to `url` with `arguments` as its JSON body. */
interface Callback {
  readonly url: string;
  readonly arguments: unknown;
}

function callbacks(body: unknown): Callback[] | undefined {
  if (!Array.isArray(body)) return undefined;
  const out: Callback[] = [];
  for (const item of body) {
    const url: unknown = item?.url;
    if (typeof url !== 'string' || !/^https?:\/\//.test(url)) return undefined;
    out.push({ url, arguments: item.arguments ?? [] });
  }
  return out;
}

/**
 * The test service of the W3C Trace Context harness (`test/test.py` of w3c/trace-context): `POST /test`
 * with a JSON array of `{ url, arguments }` makes, for each element in turn, a POST to `url` with
 * `arguments` as the JSON body. Inbound context is taken by `keel()`, outbound context written by
 * `@keel/http`; nothing here touches a header.
 */
export function createApp(options: CreateAppOptions = {}): TraceContextService {
  const { telemetry } = options;
  // No retries: the harness counts callbacks, and a POST without an idempotency key is never retried anyway.
  const harness = httpClient({
    name: 'trace-context-harness',
    retry: false,
    timeout: 5_000,
    ...(telemetry === undefined ? {} : { telemetry }),
  });
  const app = express();
  app.use(keel(telemetry === undefined ? {} : { telemetry }));
  app.use(express.json());
  app.post('/test', async (req: Request, res: Response) => {
    const calls = callbacks(req.body);
    if (calls === undefined) {
      res.status(400).json({ error: 'expected a JSON array of { url, arguments }' });
      return;
    }
    for (const call of calls) {
      const answer = await harness.post(call.url, { json: call.arguments });
      await answer.dump();
    }
    res.json({ callbacks: calls.length });
  });
  app.use(keelErrorHandler({ unhandled: 'respond' }));
  return { app, close: () => harness.close() };
}
