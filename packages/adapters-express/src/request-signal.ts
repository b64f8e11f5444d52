import { CancelledError } from '@keel/resilience';
import type { Request } from 'express';
import { requestState } from './internal/request-state.js';

// One controller per request, made on first ask: requests that never ask pay nothing.
const controllers = new WeakMap<object, AbortController>();

/**
 * An `AbortSignal` that aborts, with a `CancelledError`, when the client goes away before the response
 * is finished: pass it to the request's outbound work (`client.get(path, { signal })`,
 * `pipeline.execute(fn, { signal })`) so a caller that left stops costing downstream services. It never
 * aborts once the response finished. Explicit on purpose: work that must outlive the request (accepted
 * orders processed after the answer) simply does not take it.
 *
 * @throws {TypeError} when `keel()` did not handle `req` (it is installed after the route, or not at all).
 * @example
 * app.get('/quote', async (req, res) => {
 *   const quote = await pricing.get('/quote', { signal: requestSignal(req) });
 *   res.json(await quote.json());
 * });
 */
export function requestSignal(req: Request): AbortSignal {
  let controller = controllers.get(req);
  if (controller !== undefined) return controller.signal;
  if (requestState(req) === undefined) {
    throw new TypeError('requestSignal: keel() did not handle this request; install app.use(keel()) first');
  }
  controller = new AbortController();
  controllers.set(req, controller);
  const res = req.res;
  const gone = () =>
    controller.abort(new CancelledError('the client closed the connection before the response was sent'));
  if (res === undefined || (res.destroyed && !res.writableFinished)) gone();
  else if (!res.writableFinished) {
    res.once('close', function closed(this: typeof res) {
      if (!this.writableFinished) gone();
    });
  }
  return controller.signal;
}
