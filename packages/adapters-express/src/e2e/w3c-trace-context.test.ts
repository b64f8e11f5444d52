// W3C Trace Context, Levels 1 and 2, through Express in (keel()) and @keel/http out. The cases follow the
// official harness (test/test.py of w3c/trace-context) and the spec (https://www.w3.org/TR/trace-context-2/):
// this file plays the harness, the service under test is examples/trace-context-service, and a second
// server collects the callbacks the service makes. Where Keel deliberately differs from the harness the
// table says so (`deviation`), and examples/trace-context-service/README.md explains why.
import { randomUUID } from 'node:crypto';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../../../examples/trace-context-service/src/app.js';
import { type E2e, Opened, rawRequest, type Served, serve, startE2e, TRACEPARENT } from '../testing/e2e.js';

const TRACE_ID = '12345678901234567890123456789012';
const PARENT_ID = '1234567890123456';
const VALID = `00-${TRACE_ID}-${PARENT_ID}-01`;
const UNSAMPLED = `00-${TRACE_ID}-${PARENT_ID}-00`;

type Headers = [string, string][];

let e: E2e;
let service: Served;
let collector: Served;
let foreign: Served;
const opened = new Opened();
/** The raw header pairs of each callback, by the token in its path. */
const callbacks = new Map<string, Headers[]>();

function collectorApp(): express.Express {
  const app = express();
  app.post('/cb/:token', (req, res) => {
    const pairs: Headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      pairs.push([req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string]);
    }
    const list = callbacks.get(req.params.token) ?? [];
    list.push(pairs);
    callbacks.set(req.params.token, list);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  return app;
}

beforeAll(async () => {
  // 127.0.0.1 (the collector) is allow-listed; 127.0.0.2 (another loopback address) is not.
  e = startE2e({ propagateTo: ['127.0.0.1'] });
  const svc = opened.add(createApp({ telemetry: e.telemetry }));
  service = opened.add(await serve(svc.app));
  collector = opened.add(await serve(collectorApp()));
  foreign = opened.add(await serve(collectorApp(), '127.0.0.2'));
});

afterAll(async () => {
  await opened.closeAll();
  await e.shutdown();
});

/** Sends `headers` to the service's POST /test and returns the headers of the `count` callbacks it made. */
async function through(headers: Headers, options: { count?: number; to?: Served } = {}): Promise<Headers[]> {
  const token = randomUUID();
  const target = options.to ?? collector;
  const body = Array.from({ length: options.count ?? 1 }, () => ({
    url: `${target.url}/cb/${token}`,
    arguments: [],
  }));
  const res = await rawRequest(`${service.url}/test`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return callbacks.get(token) ?? [];
}

function values(headers: Headers, name: string): string[] {
  return headers.filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);
}

/** The one traceparent of a callback, checked against the version-00 grammar. */
function traceparentOf(headers: Headers): { traceId: string; parentId: string; flags: string } {
  const found = values(headers, 'traceparent');
  expect(found).toHaveLength(1);
  const match = TRACEPARENT.exec(found[0] ?? '');
  expect(match).not.toBeNull();
  const [, traceId = '', parentId = ''] = match ?? [];
  return { traceId, parentId, flags: (found[0] ?? '').slice(-2) };
}

/** The tracestate members of a callback, in order, all its tracestate fields combined. */
function tracestateOf(headers: Headers): [string, string][] {
  return values(headers, 'tracestate')
    .join(',')
    .split(',')
    .map((m) => m.trim())
    .filter((m) => m !== '')
    .map((m) => [m.slice(0, m.indexOf('=')), m.slice(m.indexOf('=') + 1)]);
}

async function single(headers: Headers) {
  const [callback = []] = await through(headers);
  return { ...traceparentOf(callback), state: new Map(tracestateOf(callback)), raw: callback };
}

describe('traceparent', () => {
  it('starts a trace and sends a valid traceparent when the request has neither traceparent nor tracestate', async () => {
    const { traceId, raw } = await single([]);
    expect(traceId).not.toBe('0'.repeat(32));
    expect(values(raw, 'tracestate')).toEqual([]);
  });

  it('continues the caller’s trace with a parent-id of its own', async () => {
    const { traceId, parentId } = await single([['traceparent', VALID]]);
    expect(traceId).toBe(TRACE_ID);
    expect(parentId).not.toBe(PARENT_ID);
  });

  it.each<[string, Headers]>([
    ['name TraceParent', [['TraceParent', VALID]]],
    ['name TrAcEpArEnT', [['TrAcEpArEnT', VALID]]],
    ['name TRACEPARENT', [['TRACEPARENT', VALID]]],
    ['a future version (cc)', [['traceparent', `cc-${TRACE_ID}-${PARENT_ID}-01`]]],
    [
      'a future version (cc) with more fields',
      [['traceparent', `cc-${TRACE_ID}-${PARENT_ID}-01-what-the-future-will-be-like`]],
    ],
    ['a leading space', [['traceparent', ` ${VALID}`]]],
    ['a leading tab', [['traceparent', `\t${VALID}`]]],
    ['a trailing space', [['traceparent', `${VALID} `]]],
    ['a trailing tab', [['traceparent', `${VALID}\t`]]],
    ['OWS on both sides', [['traceparent', `\t ${VALID} \t`]]],
  ])('accepts a traceparent with %s and continues its trace', async (_case, headers) => {
    const { traceId, parentId } = await single(headers);
    expect(traceId).toBe(TRACE_ID);
    expect(parentId).not.toBe(PARENT_ID);
  });

  it.each<[string, string]>([
    ['trailing characters after version 00', `${VALID}.`],
    ['more fields after version 00', `${VALID}-what-the-future-will-be-like`],
    [
      'a future version (cc) followed by something other than "-"',
      `cc-${TRACE_ID}-${PARENT_ID}-01.what-the-future-will-be-like`,
    ],
    ['version ff', `ff-${TRACE_ID}-${PARENT_ID}-01`],
    ['an illegal character first in the version', `.0-${TRACE_ID}-${PARENT_ID}-01`],
    ['an illegal character last in the version', `0.-${TRACE_ID}-${PARENT_ID}-01`],
    ['a 3-digit version', `000-${TRACE_ID}-${PARENT_ID}-01`],
    ['a 4-digit version', `0000-${TRACE_ID}-${PARENT_ID}-01`],
    ['a 1-digit version', `0-${TRACE_ID}-${PARENT_ID}-01`],
    ['an upper-case version', `CC-${TRACE_ID}-${PARENT_ID}-01`],
    ['an illegal character first in the trace-id', `00-.${TRACE_ID.slice(1)}-${PARENT_ID}-01`],
    ['an illegal character last in the trace-id', `00-${TRACE_ID.slice(0, 31)}.-${PARENT_ID}-01`],
    ['upper-case hex in the trace-id', `00-${TRACE_ID.slice(0, 31)}A-${PARENT_ID}-01`],
    ['a 33-digit trace-id', `00-${TRACE_ID}3-${PARENT_ID}-01`],
    ['a 31-digit trace-id', `00-${TRACE_ID.slice(0, 31)}-${PARENT_ID}-01`],
    ['an all-zero parent-id', `00-${TRACE_ID}-0000000000000000-01`],
    ['an illegal character first in the parent-id', `00-${TRACE_ID}-.${PARENT_ID.slice(1)}-01`],
    ['an illegal character last in the parent-id', `00-${TRACE_ID}-${PARENT_ID.slice(0, 15)}.-01`],
    ['a 17-digit parent-id', `00-${TRACE_ID}-${PARENT_ID}7-01`],
    ['a 15-digit parent-id', `00-${TRACE_ID}-${PARENT_ID.slice(0, 15)}-01`],
    ['an illegal character first in the flags', `00-${TRACE_ID}-${PARENT_ID}-.0`],
    ['an illegal character last in the flags', `00-${TRACE_ID}-${PARENT_ID}-0.`],
    ['3-digit flags', `00-${TRACE_ID}-${PARENT_ID}-001`],
    ['1-digit flags', `00-${TRACE_ID}-${PARENT_ID}-1`],
  ])('starts a new trace for a traceparent with %s', async (_case, value) => {
    const { traceId } = await single([['traceparent', value]]);
    expect(traceId).not.toBe(TRACE_ID);
  });

  it('starts a new trace, not an all-zero one, for an all-zero trace-id', async () => {
    const { traceId } = await single([['traceparent', `00-${'0'.repeat(32)}-${PARENT_ID}-01`]]);
    expect(traceId).not.toBe('0'.repeat(32));
  });

  it('starts a new trace, continuing neither, when traceparent is sent twice', async () => {
    const { traceId } = await single([
      ['traceparent', `00-12345678901234567890123456789011-${PARENT_ID}-01`],
      ['traceparent', `00-12345678901234567890123456789012-${PARENT_ID}-01`],
    ]);
    expect(traceId).not.toBe('12345678901234567890123456789011');
    expect(traceId).not.toBe('12345678901234567890123456789012');
  });

  it.each<[string, string]>([
    ['trace-parent', VALID],
    ['trace.parent', VALID],
  ])('ignores a header named %s', async (name, value) => {
    const { traceId } = await single([[name, value]]);
    expect(traceId).not.toBe(TRACE_ID);
  });
});

describe('trace-flags', () => {
  it.each<[string, string, string]>([
    ['not sampled', '00', '00'],
    ['sampled', '01', '01'],
    // Level 2: the random flag says the trace-id's right-most 7 bytes are random; it travels with the trace-id.
    ['random (Level 2), not sampled', '02', '02'],
    ['sampled and random (Level 2)', '03', '03'],
    // Bits not defined by the spec are not propagated.
    ['sampled with an undefined bit (0x08)', '09', '01'],
    ['every bit set', 'ff', '03'],
  ])('sends the flags on for %s (in %s, out %s)', async (_case, inbound, outbound) => {
    const { traceId, flags, parentId } = await single([
      ['traceparent', `00-${TRACE_ID}-${PARENT_ID}-${inbound}`],
    ]);
    expect(traceId).toBe(TRACE_ID);
    expect(parentId).not.toBe(PARENT_ID);
    expect(flags).toBe(outbound);
  });
});

describe('tracestate', () => {
  it.each<[string, Headers, [string, string][]]>([
    [
      'one header',
      [['tracestate', 'foo=1,bar=2']],
      [
        ['foo', '1'],
        ['bar', '2'],
      ],
    ],
    ['name TraceState', [['TraceState', 'foo=1']], [['foo', '1']]],
    ['name TrAcEsTaTe', [['TrAcEsTaTe', 'foo=1']], [['foo', '1']]],
    ['name TRACESTATE', [['TRACESTATE', 'foo=1']], [['foo', '1']]],
    [
      'an empty header after a full one',
      [
        ['tracestate', 'foo=1'],
        ['tracestate', ''],
      ],
      [['foo', '1']],
    ],
    [
      'an empty header before a full one',
      [
        ['tracestate', ''],
        ['tracestate', 'foo=1'],
      ],
      [['foo', '1']],
    ],
    [
      'three headers, combined in order',
      [
        ['tracestate', 'foo=1,bar=2'],
        ['tracestate', 'rojo=1,congo=2'],
        ['tracestate', 'baz=3'],
      ],
      [
        ['foo', '1'],
        ['bar', '2'],
        ['rojo', '1'],
        ['congo', '2'],
        ['baz', '3'],
      ],
    ],
    [
      'spaces and tabs around commas',
      [['tracestate', 'foo=1 \t , \t bar=2, \t baz=3']],
      [
        ['foo', '1'],
        ['bar', '2'],
        ['baz', '3'],
      ],
    ],
    [
      'tabs and spaces around commas',
      [['tracestate', 'foo=1\t \t,\t \tbar=2,\t \tbaz=3']],
      [
        ['foo', '1'],
        ['bar', '2'],
        ['baz', '3'],
      ],
    ],
    ['a leading space', [['tracestate', ' foo=1']], [['foo', '1']]],
    ['a leading tab', [['tracestate', '\tfoo=1']], [['foo', '1']]],
    ['a trailing space', [['tracestate', 'foo=1 ']], [['foo', '1']]],
    ['a trailing tab', [['tracestate', 'foo=1\t']], [['foo', '1']]],
    ['OWS on both sides', [['tracestate', '\t foo=1 \t']], [['foo', '1']]],
    [
      'empty members between commas',
      [['tracestate', 'foo=1,, ,bar=2']],
      [
        ['foo', '1'],
        ['bar', '2'],
      ],
    ],
    [
      'a multi-tenant key',
      [['tracestate', 'tenant@vendor=1,foo=2']],
      [
        ['tenant@vendor', '1'],
        ['foo', '2'],
      ],
    ],
    [
      'a key of 256 characters',
      [
        ['tracestate', 'foo=1'],
        ['tracestate', `${'z'.repeat(256)}=1`],
      ],
      [
        ['foo', '1'],
        ['z'.repeat(256), '1'],
      ],
    ],
    [
      'a tenant of 241 and a vendor of 14 characters',
      [
        ['tracestate', 'foo=1'],
        ['tracestate', `${'t'.repeat(241)}@${'v'.repeat(14)}=1`],
      ],
      [
        ['foo', '1'],
        [`${'t'.repeat(241)}@${'v'.repeat(14)}`, '1'],
      ],
    ],
    // deviation: Level 2 keys have `@` as a plain key character, so these are valid keys. The harness
    // applies Level 1's tenant (≤ 241) / system (≤ 14) split and expects the header dropped.
    [
      '(deviation) a key ending in @',
      [['tracestate', 'foo@=1,bar=2']],
      [
        ['foo@', '1'],
        ['bar', '2'],
      ],
    ],
    [
      '(deviation) a key with @@',
      [['tracestate', 'foo@@bar=1,bar=2']],
      [
        ['foo@@bar', '1'],
        ['bar', '2'],
      ],
    ],
    [
      '(deviation) a key with two @',
      [['tracestate', 'foo@bar@baz=1,bar=2']],
      [
        ['foo@bar@baz', '1'],
        ['bar', '2'],
      ],
    ],
    [
      '(deviation) a tenant of 242 characters',
      [
        ['tracestate', 'foo=1'],
        ['tracestate', `${'t'.repeat(242)}@v=1`],
      ],
      [
        ['foo', '1'],
        [`${'t'.repeat(242)}@v`, '1'],
      ],
    ],
    [
      '(deviation) a vendor of 15 characters',
      [
        ['tracestate', 'foo=1'],
        ['tracestate', `t@${'v'.repeat(15)}=1`],
      ],
      [
        ['foo', '1'],
        [`t@${'v'.repeat(15)}`, '1'],
      ],
    ],
    // The spec lets a vendor discard duplicate keys: the first value of a key is kept, the header propagated.
    ['a key repeated in one header (the first kept)', [['tracestate', 'foo=1,foo=1']], [['foo', '1']]],
    [
      'a key repeated with another value (the first kept)',
      [['tracestate', 'foo=1,bar=3,foo=2']],
      [
        ['foo', '1'],
        ['bar', '3'],
      ],
    ],
    [
      'a key repeated across headers (the first kept)',
      [
        ['tracestate', 'foo=1'],
        ['tracestate', 'foo=1'],
      ],
      [['foo', '1']],
    ],
    [
      'a key repeated across headers with another value (the first kept)',
      [
        ['tracestate', 'foo=1'],
        ['tracestate', 'foo=2'],
      ],
      [['foo', '1']],
    ],
  ])('keeps a valid tracestate: %s', async (_case, headers, members) => {
    const { traceId, raw } = await single([['traceparent', UNSAMPLED], ...headers]);
    expect(traceId).toBe(TRACE_ID);
    expect(tracestateOf(raw)).toEqual(members);
  });

  it('keeps every allowed character of keys and values', async () => {
    const key = `abcdefghijklmnopqrstuvwxyz0123456789_-*/`;
    const range = (from: number, to: number) =>
      Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i)).join('');
    const value = range(0x20, 0x2b) + range(0x2d, 0x3c) + range(0x3e, 0x7e);
    for (const k of [key, `${key}@a-z0-9_-*/`]) {
      const { state } = await single([
        ['traceparent', UNSAMPLED],
        ['tracestate', `${k}=${value}`],
      ]);
      expect(state.get(k)).toBe(value);
    }
  });

  it('keeps 32 members sent over four headers', async () => {
    const members = Array.from({ length: 32 }, (_, i) => `bar${String(i + 1).padStart(2, '0')}=${i + 1}`);
    const { state } = await single([
      ['traceparent', UNSAMPLED],
      ['tracestate', members.slice(0, 10).join(',')],
      ['tracestate', members.slice(10, 20).join(',')],
      ['tracestate', members.slice(20, 30).join(',')],
      ['tracestate', members.slice(30).join(',')],
    ]);
    expect(state.size).toBe(32);
    expect(state.get('bar01')).toBe('1');
  });

  it.each<[string, Headers]>([
    ['an empty header', [['tracestate', '']]],
    ['a header named trace-state', [['trace-state', 'foo=1']]],
    ['a header named trace.state', [['trace.state', 'foo=1']]],
    ['a space inside a key', [['tracestate', 'foo =1']]],
    ['an upper-case key', [['tracestate', 'FOO=1']]],
    ['a dot in a key', [['tracestate', 'foo.bar=1']]],
    ['a key starting with @', [['tracestate', '@foo=1,bar=2']]],
    [
      'a key of 257 characters',
      [
        ['tracestate', 'foo=1'],
        ['tracestate', `${'z'.repeat(257)}=1`],
      ],
    ],
    ['an = inside a value', [['tracestate', 'foo=bar=baz']]],
    ['an empty value', [['tracestate', 'foo=,bar=3']]],
    ['a value of 257 characters', [['tracestate', `foo=${'v'.repeat(257)}`]]],
    ['a non-ASCII character in a value', [['tracestate', 'foo=1,bar=caf\u00e9']]],
    [
      '33 members',
      [
        [
          'tracestate',
          Array.from({ length: 33 }, (_, i) => `bar${String(i + 1).padStart(2, '0')}=${i + 1}`).join(','),
        ],
      ],
    ],
    [
      'more than 512 characters',
      [['tracestate', Array.from({ length: 5 }, (_, i) => `k${i}=${'v'.repeat(120)}`).join(',')]],
    ],
  ])('drops the whole tracestate for %s, and keeps the trace', async (_case, headers) => {
    const { traceId, raw } = await single([['traceparent', UNSAMPLED], ...headers]);
    expect(traceId).toBe(TRACE_ID);
    expect(values(raw, 'tracestate')).toEqual([]);
  });

  it.each<[string]>([['foo=1'], ['foo=1,bar=2']])(
    'ignores tracestate %s without a traceparent: a new trace starts with no tracestate',
    async (state) => {
      const { raw } = await single([['tracestate', state]]);
      expect(values(raw, 'tracestate')).toEqual([]);
    },
  );
});

describe('several calls from one request', () => {
  it('sends the caller’s trace-id on every call, each with a parent-id of its own', async () => {
    const calls = (await through([['traceparent', VALID]], { count: 3 })).map(traceparentOf);
    expect(new Set(calls.map((c) => c.traceId))).toEqual(new Set([TRACE_ID]));
    expect(new Set(calls.map((c) => c.parentId)).size).toBe(3);
  });

  it('sends one new trace-id on every call when there is no traceparent, each with a parent-id of its own', async () => {
    const calls = (await through([], { count: 3 })).map(traceparentOf);
    expect(new Set(calls.map((c) => c.traceId)).size).toBe(1);
    expect(new Set(calls.map((c) => c.parentId)).size).toBe(3);
  });

  it('replaces an all-zero trace-id on every call, each with a parent-id of its own', async () => {
    const calls = (
      await through([['traceparent', `00-${'0'.repeat(32)}-${PARENT_ID}-01`]], { count: 3 })
    ).map(traceparentOf);
    expect(calls.map((c) => c.traceId)).not.toContain('0'.repeat(32));
    expect(new Set(calls.map((c) => c.parentId)).size).toBe(3);
  });
});

describe('egress allow-list (propagateTo)', () => {
  const inbound: Headers = [
    ['traceparent', VALID],
    ['tracestate', 'foo=1'],
    ['baggage', 'tenant=acme'],
    ['x-correlation-id', 'order-1'],
  ];
  const CONTEXT = ['traceparent', 'tracestate', 'baggage', 'x-correlation-id', 'x-request-id'];
  const contextHeaders = (raw: Headers) =>
    raw
      .map(([k]) => k.toLowerCase())
      .filter((k) => CONTEXT.includes(k))
      .sort();

  it('sends tracestate, baggage and the correlation ID to an allow-listed host', async () => {
    const [raw = []] = await through(inbound);
    expect(contextHeaders(raw)).toEqual(['baggage', 'traceparent', 'tracestate', 'x-correlation-id']);
    expect(values(raw, 'baggage')).toEqual(['tenant=acme']);
    expect(values(raw, 'x-correlation-id')).toEqual(['order-1']);
  });

  it('sends only traceparent to a host outside the allow-list', async () => {
    const [raw = []] = await through(inbound, { to: foreign });
    expect(contextHeaders(raw)).toEqual(['traceparent']);
    expect(traceparentOf(raw).traceId).toBe(TRACE_ID);
  });
});
