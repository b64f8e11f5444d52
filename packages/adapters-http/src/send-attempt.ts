import type { ExecuteContext } from '@keel/resilience';
import type { Telemetry } from '@keel/telemetry';
import { startHttpClient } from '@keel/telemetry/adapter';
import { defaultTextMapSetter } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import { AttemptSignal } from './attempt-signal.js';
import { isFailureStatus } from './classify.js';
import { failedResponse } from './errors.js';
import type { PreparedRequest } from './request-options.js';
import { drain, type HttpResponse, toResponse } from './response.js';

/** The responses of one call's attempts that nobody has read yet. */
export interface CallBodies {
  /** The latest attempt's response; drained when another attempt replaces it or the call ends without it. */
  latest: HttpResponse | undefined;
}

/**
 * One physical attempt: a client span from telemetry (which injects the context, the remaining deadline
 * and applies the egress allow-list to the real host), then the request on undici with the attempt's signal.
 * A response the client counts as a failure (5xx, 408, 429) rejects the attempt, so the pipeline counts it
 * as one everywhere; the call still resolves with the response (see `httpClient`).
 */
export function sendAttempt(
  client: string,
  dispatcher: Dispatcher,
  telemetry: Telemetry,
  request: PreparedRequest,
  bodies: CallBodies,
  ctx: ExecuteContext,
): Promise<HttpResponse> {
  const previous = bodies.latest;
  if (previous !== undefined) {
    bodies.latest = undefined;
    // Not awaited: a slow body must not eat this attempt's time; its connection frees once it is drained.
    void drain(previous.body);
  }
  // A synchronous throw here is the pipeline's to turn into this attempt's rejection.
  if (ctx.reason !== undefined) throw ctx.reason;
  const headers = { ...request.headers };
  const signal = new AttemptSignal(ctx);
  const op = startHttpClient(telemetry, {
    carrier: headers,
    setter: defaultTextMapSetter,
    method: request.method,
    url: request.url,
    attempt: ctx.attempt,
    deadline: ctx.deadline,
  });
  // One `then`, not an async function: with async_hooks on (any context propagation on Node 22) every
  // promise pays the hooks, and an async function with an await makes two.
  return dispatcher
    .request({
      origin: request.origin,
      path: request.path,
      method: request.method as Dispatcher.HttpMethod,
      headers,
      body: request.body,
      signal,
    })
    .then(
      (data) => {
        signal.release();
        const aborted = ctx.reason;
        if (aborted !== undefined) {
          // The pipeline gave up on this attempt while the headers were arriving: nobody will read this body.
          void drain(data.body);
          op.end({ error: aborted });
          throw aborted;
        }
        op.end({ statusCode: data.statusCode });
        const response = toResponse(data, ctx.attempt);
        bodies.latest = response;
        if (isFailureStatus(data.statusCode)) throw failedResponse(client, request.method, response);
        return response;
      },
      (undiciError: unknown) => {
        signal.release();
        // An attempt the pipeline aborted fails with the pipeline's reason, whatever undici made of the abort.
        const error = ctx.reason ?? undiciError;
        op.end({ error });
        throw error;
      },
    );
}
