import { pipeline } from '@keel/resilience';
import { afterEach, describe, expect, it } from 'vitest';
import type { HttpClientOptions } from './client-options.js';
import { httpClient } from './http-client.js';

const base = { name: 'payments', baseUrl: 'http://payments:8080' };

describe('httpClient options', () => {
  it.each<[string, unknown, ErrorConstructor, RegExp]>([
    [
      'baseUrl not http(s)',
      { ...base, baseUrl: 'ftp://payments' },
      TypeError,
      /option baseUrl must be an http: or https: URL.*received "ftp:\/\/payments"/,
    ],
    [
      'baseUrl not a URL',
      { ...base, baseUrl: 'payments:8080' },
      TypeError,
      /option baseUrl .*received "payments:8080"/,
    ],
    [
      'baseUrl with a query',
      { ...base, baseUrl: 'http://p/?a=1' },
      TypeError,
      /option baseUrl .*received "http:\/\/p\/\?a=1"/,
    ],
    [
      'no name',
      { baseUrl: 'http://p' },
      TypeError,
      /option name must be a non-empty string.*received undefined/,
    ],
    [
      'maxRetryAfterMs negative',
      { ...base, maxRetryAfterMs: -1 },
      RangeError,
      /option maxRetryAfterMs must be an integer from 0 to 3600000, received -1/,
    ],
    [
      'connections zero',
      { ...base, connections: 0 },
      RangeError,
      /option connections must be an integer from 1 to 65536, received 0/,
    ],
    [
      'throwOnError not boolean',
      { ...base, throwOnError: 'yes' },
      TypeError,
      /option throwOnError must be a boolean, received "yes"/,
    ],
    ['an unknown key', { ...base, retries: 3 }, TypeError, /unknown option "retries"/],
    [
      'retry.maxAttempts out of range',
      { ...base, retry: { maxAttempts: 0 } },
      RangeError,
      /option retry.maxAttempts must be an integer from 1 to 100, received 0/,
    ],
    [
      'retry not an object',
      { ...base, retry: 3 },
      TypeError,
      /option retry must be an options object or false, received 3/,
    ],
    [
      'a header value of the wrong type',
      { ...base, headers: { 'x-a': {} } },
      TypeError,
      /option headers.x-a must be a string.*received an object/,
    ],
    [
      'pipeline with timeout',
      { ...base, pipeline: pipeline('own'), timeout: 5 },
      TypeError,
      /option pipeline cannot be combined with timeout/,
    ],
  ])('rejects %s with an error naming the option and the value', (_what, options, kind, message) => {
    expect(() => httpClient(options as HttpClientOptions)).toThrow(kind);
    expect(() => httpClient(options as HttpClientOptions)).toThrow(message);
  });

  it.each<[string, () => Promise<unknown>, RegExp]>([
    [
      'json with body',
      () => client().post('/x', { json: {}, body: 'x' }),
      /option json cannot be combined with body; send one of them/,
    ],
    [
      'a URL on another origin',
      () => client().get('http://evil.example/x'),
      /option url must be a path or a URL on http:\/\/payments:8080/,
    ],
    [
      'a negative timeout',
      () => client().get('/x', { timeout: -5 }),
      /option timeout must be an integer from 0/,
    ],
    [
      'an empty idempotency key',
      () => client().post('/x', { idempotencyKey: '' }),
      /option idempotencyKey must be a non-empty string, received ""/,
    ],
  ])('rejects a call with %s before sending it', async (_what, call, message) => {
    await expect(call()).rejects.toThrow(message);
  });

  it('rejects a second live client of the same name, with a message naming the name', async () => {
    client();

    expect(() => httpClient(base)).toThrow(/"payments": a live pipeline already has this name/);
  });

  it('frees the name of a client when it is closed', async () => {
    await client().close();

    expect(client().name).toBe('payments');
  });

  it('uses the name of a pipeline of your own', async () => {
    const own = pipeline('ledger-own', { retry: false });
    const c = httpClient({ pipeline: own, baseUrl: 'http://ledger' });
    expect(c.name).toBe('ledger-own');
    expect(c.pipeline).toBe(own);
    await c.close();
    own.dispose();
  });
});

const clients: ReturnType<typeof httpClient>[] = [];
afterEach(() => Promise.all(clients.splice(0).map((c) => c.close())));
function client() {
  const c = httpClient(base);
  clients.push(c);
  return c;
}
