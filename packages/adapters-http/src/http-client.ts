import {
  CancelledError,
  type ExecuteContext,
  type ExecuteOptions,
  type Pipeline,
  runWithDeadline,
} from '@keel/resilience';
import { currentTelemetry } from '@keel/telemetry';
import { Agent, type Dispatcher } from 'undici';
import { withCallPolicy } from './classify.js';
import {
  type HttpClientOptions,
  type ResolvedClientOptions,
  resolveClientOptions,
} from './client-options.js';
import { responseOf, statusError } from './errors.js';
import { type HttpRequestOptions, type PreparedRequest, prepareRequest } from './request-options.js';
import { drain, type HttpResponse, isHttpResponse } from './response.js';
import { type CallBodies, sendAttempt } from './send-attempt.js';

const SEND_ONCE: ExecuteOptions = { idempotent: false };

/** Runs one call's attempts through the client's pipeline. */
function launch(
  client: ResolvedClientOptions,
  prepared: PreparedRequest,
  attempt: (ctx: ExecuteContext) => Promise<HttpResponse>,
): Promise<HttpResponse> {
  const signal = prepared.signal;
  if (client.policyInContext) {
    const policy = { replayable: prepared.replayable, maxRetryAfterMs: client.maxRetryAfterMs };
    return withCallPolicy(policy, () =>
      client.pipeline.execute(attempt, signal === undefined ? undefined : { signal }),
    );
  }
  // The client's own classifiers: whether the call may be repeated travels as an option, not in the context.
  const options =
    signal !== undefined
      ? { signal, idempotent: prepared.replayable }
      : prepared.replayable
        ? undefined
        : SEND_ONCE;
  return client.pipeline.execute(attempt, options);
}

/** A resilient, traced HTTP client for one destination. */
export interface HttpClient {
  /** The client's name, also its pipeline's. */
  readonly name: string;
  /** The pipeline every call runs through (for `circuitState`, `onEvent`, `stats`). */
  readonly pipeline: Pipeline;
  /** Sends `method` to `url`: a path under `baseUrl`, or an absolute URL (on the `baseUrl` origin if set). */
  request(method: string, url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
  get(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
  head(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
  post(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
  put(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
  patch(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
  delete(url: string | URL, options?: HttpRequestOptions): Promise<HttpResponse>;
  /**
   * Rejects new calls, cancels those in flight (disposing the client's own pipeline) and closes the
   * client's own connection pool once the bodies already returned have been read. Leaves no socket or timer.
   */
  close(): Promise<void>;
}

/**
 * A service-to-service HTTP client on undici: every call runs through a resilience pipeline named
 * `name`, and every physical attempt is a client span carrying trace context, correlation ID and the
 * remaining deadline. Options are validated here; a mistake throws a TypeError or RangeError naming it.
 *
 * @example
 * const payments = httpClient({ name: 'payments', baseUrl: 'http://payments:8080', timeout: 2_000 });
 * const res = await payments.post('/charges', { json: { amount }, idempotencyKey: orderId });
 * if (res.ok) console.log(await res.json());
 */
export function httpClient(options: HttpClientOptions): HttpClient {
  const client = resolveClientOptions(options);
  const { name, pipeline } = client;
  const agent: Dispatcher =
    client.dispatcher ??
    new Agent(client.connections === undefined ? {} : { connections: client.connections });
  let closing: Promise<void> | undefined;

  // Not an async function: every promise pays the async hooks on Node 22 (see sendAttempt). Misuse still
  // rejects the call rather than throwing, as the README promises.
  function request(
    method: string,
    url: string | URL,
    callOptions?: HttpRequestOptions,
  ): Promise<HttpResponse> {
    try {
      if (closing !== undefined) throw new CancelledError('client closed', name);
      const prepared = prepareRequest(client, method, url, callOptions);
      // Looked up per call, so a client built before startTelemetry() reports to the started telemetry.
      const telemetry = client.telemetry ?? currentTelemetry();
      const bodies: CallBodies = { latest: undefined };
      const attempt = (ctx: ExecuteContext) => sendAttempt(name, agent, telemetry, prepared, bodies, ctx);
      const launched =
        prepared.timeout === undefined
          ? launch(client, prepared, attempt)
          : runWithDeadline(prepared.timeout, () => launch(client, prepared, attempt));
      const settle = (response: HttpResponse): HttpResponse | Promise<HttpResponse> => {
        // A fallback may have answered instead of the last attempt.
        if (bodies.latest !== undefined && bodies.latest !== response) void drain(bodies.latest.body);
        if (prepared.throwOnError && isHttpResponse(response) && !response.ok) {
          return statusError(name, prepared.method, response).then((error) => Promise.reject(error));
        }
        return response;
      };
      return launched.then(settle, (error: unknown) => {
        // The last attempt's response was a failure (5xx, 408, 429): the pipeline counted it as one, and the
        // caller gets the response, as for any other status.
        const response = responseOf(error);
        if (response !== undefined && response === bodies.latest) return settle(response);
        if (bodies.latest !== undefined) void drain(bodies.latest.body);
        throw error;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  return {
    name,
    pipeline,
    request,
    get: (url, o) => request('GET', url, o),
    head: (url, o) => request('HEAD', url, o),
    post: (url, o) => request('POST', url, o),
    put: (url, o) => request('PUT', url, o),
    patch: (url, o) => request('PATCH', url, o),
    delete: (url, o) => request('DELETE', url, o),
    close() {
      closing ??= (async () => {
        if (client.ownsPipeline) pipeline.dispose();
        if (client.dispatcher === undefined) await agent.close();
      })();
      return closing;
    },
  };
}
