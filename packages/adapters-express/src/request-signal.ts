import { exchangeSignal } from '@keel/telemetry/adapter';
import type { Request } from 'express';

/**
 * An `AbortSignal` that aborts, with a `CancelledError`, when the client goes away before the response
 * is finished: pass it to the request's outbound work (`client.get(path, { signal })`,
 * `pipeline.execute(fn, { signal })`) so a caller that left stops costing downstream services. It never
 * aborts once the response finished. Explicit on purpose: work that must outlive the request (accepted
 * orders processed after the answer) simply does not take it. The signal is telemetry's
 * `exchangeSignal`, made on first ask, so requests that never ask pay nothing.
 *
 * @throws {TypeError} when `keel()` did not handle `req` (it is installed after the route, or not at all).
 * @example
 * app.get('/quote', async (req, res) => {
 *   const quote = await pricing.get('/quote', { signal: requestSignal(req) });
 *   res.json(await quote.json());
 * });
 */
export function requestSignal(req: Request): AbortSignal {
  const signal = req.res === undefined ? undefined : exchangeSignal(req.res);
  if (signal === undefined) {
    throw new TypeError('requestSignal: keel() did not handle this request; install app.use(keel()) first');
  }
  return signal;
}
