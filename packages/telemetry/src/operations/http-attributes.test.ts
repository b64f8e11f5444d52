import { defaultTextMapGetter, defaultTextMapSetter, SpanKind } from '@opentelemetry/api';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testCore } from '../testing/test-core.js';
import { startHttpClient, startHttpServer } from './http.js';
import { parseAuthority, redactQuery, serverRequestAttributes } from './http-attributes.js';

const facts = (extra: Partial<Parameters<typeof serverRequestAttributes>[0]> = {}) => ({
  carrier: {} as Record<string, string>,
  getter: defaultTextMapGetter,
  method: 'GET',
  ...extra,
});

describe('server span request attributes', () => {
  it('takes url.path, server.address and server.port from an absolute-form target', () => {
    const attributes = serverRequestAttributes(
      facts({ target: 'http://shop.example:8080/cart?x=1', carrier: { host: 'proxy:3128' } }),
      'GET',
    );
    expect(attributes).toMatchObject({
      'url.path': '/cart',
      'server.address': 'shop.example',
      'server.port': 8080,
    });
  });

  it('takes server.address from the Host header and the scheme default port when it names none', () => {
    const attributes = serverRequestAttributes(
      facts({ target: '/', scheme: 'https', carrier: { host: 'api.example' } }),
      'GET',
    );
    expect(attributes).toMatchObject({ 'server.address': 'api.example', 'server.port': 443 });
  });

  it.each([
    ['a bracketed IPv6 address with a port', '[::1]:8443', { address: '[::1]', port: 8443 }],
    ['a name without a port', 'orders', { address: 'orders' }],
    ['a port out of range', 'orders:70000', undefined],
    ['a header with a space', 'orders evil', undefined],
    ['a header with a path', 'orders/x', undefined],
  ])('reads %s', (_name, host, expected) => {
    expect(parseAuthority(host)).toEqual(expected);
  });

  it('writes HTTP/2 as network.protocol.version 2 and sets method_original for a lower-case method', () => {
    const attributes = serverRequestAttributes(facts({ method: 'get', httpVersion: '2.0' }), 'GET');
    expect(attributes).toMatchObject({
      'network.protocol.version': '2',
      'http.request.method_original': 'get',
    });
  });

  it('cuts a path, query and user agent a caller made huge', () => {
    const attributes = serverRequestAttributes(
      facts({
        target: `/${'p'.repeat(10_000)}?${'q'.repeat(10_000)}`,
        recordQuery: true,
        carrier: { 'user-agent': 'u'.repeat(10_000) },
      }),
      'GET',
    );
    expect(String(attributes['url.path']).length).toBeLessThanOrEqual(2048);
    expect(String(attributes['url.query']).length).toBeLessThanOrEqual(2048);
    expect(String(attributes['user_agent.original']).length).toBeLessThanOrEqual(512);
  });

  it('redacts the value of every sensitive key, whatever its case or encoding, and keeps the rest', () => {
    expect(redactQuery('q=a&SIG=1&X-Goog-Signature=2&%74oken=3&flag&password')).toBe(
      'q=a&SIG=REDACTED&X-Goog-Signature=REDACTED&%74oken=REDACTED&flag&password',
    );
  });

  it('never throws and never outgrows its bounds, whatever the target and headers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), fc.string({ maxLength: 300 }), (target, host) => {
        const attributes = serverRequestAttributes(
          facts({ target, recordQuery: true, carrier: { host } }),
          'GET',
        );
        expect(String(attributes['url.path'] ?? '').length).toBeLessThanOrEqual(2048);
        expect(String(attributes['url.query'] ?? '').length).toBeLessThanOrEqual(2048);
      }),
    );
  });

  it('names the span HTTP for an unknown method and keeps the original method', async () => {
    const core = testCore();
    startHttpServer(core, { carrier: {}, getter: defaultTextMapGetter, method: 'BREW', target: '/pot' }).end({
      statusCode: 418,
    });
    const [span] = await core.finished();
    expect(span?.name).toBe('HTTP');
    expect(span?.attributes).toMatchObject({
      'http.request.method': '_OTHER',
      'http.request.method_original': 'BREW',
      'url.path': '/pot',
    });
  });
});

describe('client span attributes', () => {
  it('sets url.scheme, and method_original with an HTTP span name for a method the conventions do not know', async () => {
    const core = testCore();
    startHttpClient(core, {
      carrier: {},
      setter: defaultTextMapSetter,
      method: 'PURGE',
      url: new URL('https://cache.example/items/7'),
    }).end({ statusCode: 200 });
    const span = (await core.finished()).find((s) => s.kind === SpanKind.CLIENT);
    expect(span?.name).toBe('HTTP');
    expect(span?.attributes).toMatchObject({
      'http.request.method': '_OTHER',
      'http.request.method_original': 'PURGE',
      'url.scheme': 'https',
      'server.address': 'cache.example',
      'server.port': 443,
      'url.full': 'https://cache.example/items/7',
    });
  });
});
